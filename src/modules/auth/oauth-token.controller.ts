// RFC 6749 token endpoint (§4.3 password grant, §6 refresh), answered in the RFC's own shapes
// (§5.1 success, §5.2 errors) rather than problem+json. Swagger UI's Authorize button uses it.
import { Body, Controller, Header, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Client } from '../../common/decorators/client.decorator';
import { Public } from '../../common/decorators/public.decorator';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { ClientInfo } from '../../common/events/domain-events';
import { RateLimit, type RateLimitGroup } from '../throttle/rate-limit.decorator';
import { AuthService } from './auth.service';
import { OAuthErrorResponse, OAuthTokenRequest, OAuthTokenResponse } from './dto/oauth-token.dto';
import { OAuthErrorFilter, OAuthError } from './oauth-error.filter';
import { TokenRefreshService } from './token-refresh.service';
import { FormBody } from '../../common/http/content-type';
import { OAUTH_ERRORS } from '../../common/filters/oauth-error';
import { RouteConfig } from '@nestjs/platform-fastify';
import { isStorableText } from '../../common/validators/storable-text';

/** Every parameter, also the ignored ones, must be text the rest of the stack can hold. */
function checkParameters(body: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === 'string' && !isStorableText(value)) {
      throw new OAuthError('invalid_request', `The ${name} parameter contains characters that are not allowed.`);
    }
  }
}

/**
 * A password grant is a password guess: it draws on the login budget, like POST /auth/login; the
 * refresh_token grant (and anything else) on the token budget.
 */
export function tokenRateLimitGroup(request: FastifyRequest): RateLimitGroup {
  const body = request.body as Record<string, unknown> | undefined;
  return body?.grant_type === 'password' ? 'login' : 'token';
}

function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    throw new OAuthError('invalid_request', `The ${name} parameter is required.`);
  }
  return value;
}

@ApiTags('auth')
@Controller('auth')
@UseFilters(OAuthErrorFilter)
export class OAuthTokenController {
  constructor(
    private readonly auth: AuthService,
    private readonly tokenRefresh: TokenRefreshService,
  ) {}

  @Public()
  @FormBody()
  @RateLimit(tokenRateLimitGroup)
  @Post('token')
  @RouteConfig(OAUTH_ERRORS)
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @ApiOperation({ summary: 'OAuth 2.0 token endpoint: password and refresh_token grants' })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ type: OAuthTokenRequest, description: 'RFC 6749 §4.3 / §6 form parameters' })
  @ApiOkResponse({ type: OAuthTokenResponse })
  @ApiBadRequestResponse({ type: OAuthErrorResponse, description: 'RFC 6749 §5.2 error' })
  async token(@Body() raw: OAuthTokenRequest | undefined, @Client() client: ClientInfo): Promise<OAuthTokenResponse> {
    const body = (raw ?? {}) as unknown as Record<string, unknown>;
    checkParameters(body);
    const grant = body.grant_type;
    if (typeof grant !== 'string' || grant.length === 0) {
      throw new OAuthError('invalid_request', 'The grant_type parameter is required.');
    }
    let pair;
    if (grant === 'password') {
      const username = field(body, 'username');
      const password = field(body, 'password');
      const user = await this.auth.checkCredentials(username, password, client, true).catch((error: unknown) => {
        if (error instanceof AppError && error.code === ErrorCode.InvalidCredentials) {
          throw new OAuthError('invalid_grant', 'The username or password is incorrect.');
        }
        throw error;
      });
      // The grant has no second step: an account with MFA signs in at /auth/login.
      if (user.mfaEnabled) throw new OAuthError('invalid_grant', 'multi-factor authentication required');
      pair = await this.auth.startSession(user, client);
    } else if (grant === 'refresh_token') {
      pair = await this.tokenRefresh.refresh(field(body, 'refresh_token'), client);
    } else {
      throw new OAuthError('unsupported_grant_type', 'Supported grants: password, refresh_token.');
    }
    return {
      access_token: pair.accessToken,
      token_type: 'Bearer',
      expires_in: pair.expiresIn,
      refresh_token: pair.refreshToken,
    };
  }
}
