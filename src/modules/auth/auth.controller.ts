import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { RouteSchema } from '@nestjs/platform-fastify';
import { isUUID } from 'class-validator';
import { Client } from '../../common/decorators/client.decorator';
import type { FastifyRequest } from 'fastify';
import { AuthenticatedUser, authOf, CurrentAuth } from './decorators/current-auth.decorator';
import { AcceptsApiKey } from '../../common/decorators/accepts-api-key.decorator';
import { Public } from '../../common/decorators/public.decorator';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { ClientInfo } from '../../common/events/domain-events';
import type { AuthContext } from './auth-context';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import { RateLimit } from '../throttle/rate-limit.decorator';
import { toUserResponse, UserResponse } from '../users/dto/user.response';
import type { UserEntity } from '../users/user.entity';
import { MfaVerificationService } from '../mfa/mfa-verification.service';
import { AuthService } from './auth.service';
import { LoginDto } from './dto/login.dto';
import { MfaChallengeResponse } from './dto/mfa.dto';
import { RefreshDto } from './dto/refresh.dto';
import { RegisterDto } from './dto/register.dto';
import {
  ApiKeyVerifyResponse,
  SessionResponse,
  TokenPairResponse,
  VERIFY_RESPONSE_SCHEMA,
  VerifyResponse,
} from './dto/token-pair.response';
import { LocalAuthGuard } from './guards/local-auth.guard';
import { TokenRefreshService } from './token-refresh.service';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly tokenRefresh: TokenRefreshService,
    private readonly mfa: MfaVerificationService,
  ) {}

  @Public()
  @RateLimit('register')
  @Post('register')
  @ApiOperation({ summary: 'Create an account' })
  @ApiCreatedResponse({ type: UserResponse })
  @ApiProblems(400, 409, 413, 415)
  async register(@Body() body: RegisterDto, @Client() client: ClientInfo): Promise<UserResponse> {
    return toUserResponse(await this.auth.register(body, client));
  }

  @Public()
  @UseGuards(LocalAuthGuard)
  @RateLimit('login')
  @Post('login')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Sign in with e-mail and password',
    description:
      'An account with multi-factor sign-in answers a challenge instead of tokens: send its mfaToken with a code to POST /auth/mfa/verify.',
  })
  @ApiBody({ type: LoginDto })
  @ApiExtraModels(TokenPairResponse, MfaChallengeResponse)
  @ApiOkResponse({
    description: 'the token pair, or (MFA on) the second-factor challenge',
    schema: { oneOf: [{ $ref: getSchemaPath(TokenPairResponse) }, { $ref: getSchemaPath(MfaChallengeResponse) }] },
  })
  @ApiProblems(400, 401, 403, 413, 415)
  login(
    @AuthenticatedUser() user: UserEntity,
    @Client() client: ClientInfo,
  ): Promise<TokenPairResponse | MfaChallengeResponse> {
    if (user.mfaEnabled) return this.mfa.startChallenge(user.id);
    return this.auth.startSession(user, client);
  }

  @Public()
  @RateLimit('token')
  @Post('refresh')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Exchange a refresh token for a new pair (the old refresh token stops working)' })
  @ApiOkResponse({ type: TokenPairResponse })
  @ApiProblems(400, 401, 413, 415)
  refresh(@Body() body: RefreshDto, @Client() client: ClientInfo): Promise<TokenPairResponse> {
    return this.tokenRefresh.refresh(body.refreshToken, client);
  }

  @ProtectedApi()
  @Post('logout')
  @HttpCode(204)
  @ApiOperation({ summary: 'End this session: its refresh and access tokens stop working at once' })
  @ApiNoContentResponse()
  @ApiProblems(401)
  logout(@CurrentAuth() auth: AuthContext, @Client() client: ClientInfo): Promise<void> {
    return this.auth.logout(auth, client);
  }

  @ProtectedApi()
  @Post('logout-all')
  @HttpCode(204)
  @ApiOperation({ summary: 'End every session of the signed-in user' })
  @ApiNoContentResponse()
  @ApiProblems(401)
  logoutAll(@CurrentAuth() auth: AuthContext, @Client() client: ClientInfo): Promise<void> {
    return this.auth.logoutAll(auth, client);
  }

  @ProtectedApi()
  @Get('sessions')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Your live sessions' })
  @ApiOkResponse({ type: [SessionResponse] })
  @ApiProblems(401)
  sessions(@CurrentAuth() auth: AuthContext): Promise<SessionResponse[]> {
    return this.auth.listSessions(auth);
  }

  @ProtectedApi()
  @Delete('sessions/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'End one of your sessions' })
  @ApiNoContentResponse()
  @ApiProblems(401, 404)
  async deleteSession(
    @CurrentAuth() auth: AuthContext,
    @Param('id') id: string,
    @Client() client: ClientInfo,
  ): Promise<void> {
    if (!isUUID(id)) throw new AppError(ErrorCode.NotFound, 'No such session.');
    await this.auth.deleteSession(auth, id, client);
  }

  @ProtectedApi()
  @AcceptsApiKey()
  @Get('verify')
  @RouteSchema({ response: { 200: VERIFY_RESPONSE_SCHEMA } })
  @ApiOperation({ summary: 'Check an access token or an API key (for other services)' })
  @ApiExtraModels(VerifyResponse, ApiKeyVerifyResponse)
  @ApiOkResponse({
    description: "the token's session, or (X-API-Key) the key and its scopes",
    schema: { oneOf: [{ $ref: getSchemaPath(VerifyResponse) }, { $ref: getSchemaPath(ApiKeyVerifyResponse) }] },
  })
  @ApiProblems(400, 401)
  verify(@Req() request: FastifyRequest): VerifyResponse | ApiKeyVerifyResponse {
    return this.auth.verify(authOf(request));
  }
}
