// Password reset and change, e-mail verification and resend (docs/api.md, docs/mail.md). Tokens are
// spent only by these POST endpoints: the mailed links point at the front end (APP_URL), so a mail
// scanner that follows a link consumes nothing.
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Client } from '../../common/decorators/client.decorator';
import { CurrentAuth } from './decorators/current-auth.decorator';
import { Public } from '../../common/decorators/public.decorator';
import type { ClientInfo } from '../../common/events/domain-events';
import type { AuthContext } from './auth-context';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import { RateLimit } from '../throttle/rate-limit.decorator';
import {
  AcceptedResponse,
  ChangePasswordDto,
  ForgotPasswordDto,
  ResetPasswordDto,
  VerifyEmailDto,
} from './dto/account-recovery.dto';
import { EmailVerificationService } from './email-verification.service';
import { PasswordChangeService } from './password-change.service';
import { PasswordResetService } from './password-reset.service';

const FORGOT_ANSWER = 'If an account uses this address, a message with a reset link is on its way.';
const RESEND_ANSWER = 'If your address still needs confirming, a new message is on its way.';

@ApiTags('auth')
@Controller('auth')
export class AccountRecoveryController {
  constructor(
    private readonly passwordReset: PasswordResetService,
    private readonly passwordChange: PasswordChangeService,
    private readonly verification: EmailVerificationService,
  ) {}

  @Public()
  @RateLimit('forgotPassword')
  @Post('password/forgot')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Mail a password reset link',
    description: 'The same answer, in about the same time, whether or not an account uses the address.',
  })
  @ApiAcceptedResponse({ type: AcceptedResponse })
  @ApiProblems(400, 413, 415)
  async forgot(@Body() body: ForgotPasswordDto): Promise<AcceptedResponse> {
    await this.passwordReset.forgotPassword(body.email);
    return { message: FORGOT_ANSWER };
  }

  @Public()
  @Post('password/reset')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Set a new password with a reset token',
    description: 'The token works once; every session of the account ends and a "password changed" mail follows.',
  })
  @ApiNoContentResponse()
  @ApiProblems(400, 413, 415)
  reset(@Body() body: ResetPasswordDto, @Client() client: ClientInfo): Promise<void> {
    return this.passwordReset.resetPassword(body.token, body.password, client);
  }

  @ProtectedApi()
  @Post('password/change')
  @HttpCode(204)
  @ApiOperation({ summary: 'Change your password', description: 'Your other sessions end.' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 413, 415)
  change(
    @Body() body: ChangePasswordDto,
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
  ): Promise<void> {
    return this.passwordChange.changePassword(auth, body.currentPassword, body.newPassword, client);
  }

  @Public()
  @Post('email/verify')
  @HttpCode(204)
  @ApiOperation({ summary: 'Confirm your e-mail address with the mailed token' })
  @ApiNoContentResponse()
  @ApiProblems(400, 413, 415)
  verify(@Body() body: VerifyEmailDto): Promise<void> {
    return this.verification.verifyEmail(body.token);
  }

  @ProtectedApi()
  @Post('email/resend')
  @HttpCode(202)
  @ApiOperation({ summary: 'Mail a new verification link' })
  @ApiAcceptedResponse({ type: AcceptedResponse })
  @ApiProblems(401)
  async resend(@CurrentAuth() auth: AuthContext): Promise<AcceptedResponse> {
    await this.verification.resendVerification(auth);
    return { message: RESEND_ANSWER };
  }
}
