// /auth/mfa/*: the second step of a login, and enrolment (docs/security.md, "Multi-factor").
import { Body, Controller, Header, HttpCode, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Client } from '../../common/decorators/client.decorator';
import { Public } from '../../common/decorators/public.decorator';
import type { ClientInfo } from '../../common/events/domain-events';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import { RateLimit } from '../throttle/rate-limit.decorator';
import type { AuthContext } from './auth-context';
import { CurrentAuth } from './decorators/current-auth.decorator';
import {
  MfaConfirmDto,
  MfaPasswordAndCodeDto,
  MfaPasswordDto,
  MfaVerifyDto,
  RecoveryCodesResponse,
  TotpSetupResponse,
} from './dto/mfa.dto';
import { TokenPairResponse } from './dto/token-pair.response';
import { MfaSignInService } from './mfa-sign-in.service';

@ApiTags('auth')
@Controller('auth/mfa')
export class MfaController {
  constructor(private readonly mfa: MfaSignInService) {}

  @Public()
  @RateLimit('login')
  @Post('verify')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Complete a login that asked for a second factor (TOTP or recovery code)' })
  @ApiOkResponse({ type: TokenPairResponse })
  @ApiProblems(400, 401, 403, 413, 415, 429)
  verify(@Body() body: MfaVerifyDto, @Client() client: ClientInfo): Promise<TokenPairResponse> {
    return this.mfa.verify(body.mfaToken, body.code, client);
  }

  @ProtectedApi()
  @Post('totp/setup')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Start (or restart) TOTP enrolment; MFA is not on until confirmed' })
  @ApiOkResponse({ type: TotpSetupResponse })
  @ApiProblems(400, 401, 429)
  setup(
    @CurrentAuth() auth: AuthContext,
    @Body() body: MfaPasswordDto,
    @Client() client: ClientInfo,
  ): Promise<TotpSetupResponse> {
    return this.mfa.setup(auth, body.password, client);
  }

  @ProtectedApi()
  @Post('totp/confirm')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Turn MFA on with a first code; returns ten recovery codes, shown this once' })
  @ApiOkResponse({ type: RecoveryCodesResponse })
  @ApiProblems(400, 401)
  async confirm(
    @CurrentAuth() auth: AuthContext,
    @Body() body: MfaConfirmDto,
    @Client() client: ClientInfo,
  ): Promise<RecoveryCodesResponse> {
    return { recoveryCodes: await this.mfa.confirm(auth, body.code, client) };
  }

  @ProtectedApi()
  @Post('totp/disable')
  @HttpCode(204)
  @ApiOperation({ summary: 'Turn MFA off (password and a current code)' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 429)
  disable(
    @CurrentAuth() auth: AuthContext,
    @Body() body: MfaPasswordAndCodeDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    return this.mfa.disable(auth, body.password, body.code, client);
  }

  @ProtectedApi()
  @Post('recovery-codes')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Ten new recovery codes (password and a current code); the old ones stop working' })
  @ApiOkResponse({ type: RecoveryCodesResponse })
  @ApiProblems(400, 401, 429)
  async regenerate(
    @CurrentAuth() auth: AuthContext,
    @Body() body: MfaPasswordAndCodeDto,
    @Client() client: ClientInfo,
  ): Promise<RecoveryCodesResponse> {
    return { recoveryCodes: await this.mfa.regenerateRecoveryCodes(auth, body.password, body.code, client) };
  }
}
