// RFC 7009 revocation and RFC 7662 introspection of Latch's own tokens and API keys. Introspection
// callers are checked here (canIntrospect), not by @Roles: an admin's bearer token, or an API key
// with scope `introspect`.
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { ClientInfo } from '../../common/events/domain-events';
import type { AuthConfig, LatchConfig } from '../../config/configuration';
import { ApiKeyAuthenticator } from '../api-keys/api-key-authenticator';
import { API_KEY_PREFIX } from '../api-keys/api-key-format';
import { TokensService } from '../tokens/tokens.service';
import { UsersService } from '../users/users.service';
import type { AuthContext } from './auth-context';
import type { IntrospectionResponse } from './dto/token-introspection.dto';
import { JwtStrategy } from './strategies/jwt.strategy';

/** A caller the introspection endpoint admits: an admin's session, or an API key with scope `introspect`. */
export function canIntrospect(caller: AuthContext): boolean {
  if (caller.apiKey) return caller.apiKey.scopes.includes('introspect');
  return caller.roles.includes('admin');
}

const INACTIVE: IntrospectionResponse = { active: false };
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

@Injectable()
export class TokenIntrospectionService {
  private readonly auth: AuthConfig;

  constructor(
    private readonly strategy: JwtStrategy,
    private readonly apiKeys: ApiKeyAuthenticator,
    private readonly tokens: TokensService,
    private readonly users: UsersService,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.auth = config.get('auth', { infer: true });
  }

  /** RFC 7009: a live refresh token ends its session (its access tokens stop at once); anything else is a no-op. */
  async revoke(token: string, client: ClientInfo): Promise<void> {
    const session = await this.tokens.findLiveByRefreshToken(token);
    if (session) await this.tokens.revokeSession(session.id, 'logout', client);
  }

  /** RFC 7662 for an access or refresh token; `{ active: false }` for anything else. */
  async introspect(caller: AuthContext, token: string, hint?: string): Promise<IntrospectionResponse> {
    if (!canIntrospect(caller)) {
      throw new AppError(ErrorCode.Forbidden, 'Introspection needs an admin or an API key with scope "introspect".');
    }
    if (token.startsWith(API_KEY_PREFIX)) return (await this.apiKey(token)) ?? INACTIVE;
    const order = hint === 'refresh_token' ? [this.refresh, this.access] : [this.access, this.refresh];
    for (const look of order) {
      const found = await look.call(this, token);
      if (found) return found;
    }
    return INACTIVE;
  }

  private async access(token: string): Promise<IntrospectionResponse | undefined> {
    if (token.split('.').length !== 3) return undefined;
    const checked = await this.strategy.check(token);
    if (!checked) return undefined;
    const { auth, payload } = checked;
    return {
      active: true,
      token_type: 'access_token',
      sub: auth.userId,
      sid: auth.sessionId ?? undefined,
      exp: payload.exp,
      iat: payload.iat,
      iss: this.auth.jwtIssuer,
      aud: this.auth.jwtAudience,
      roles: auth.roles,
    };
  }

  private async apiKey(token: string): Promise<IntrospectionResponse | undefined> {
    const caller = await this.apiKeys.check(token);
    if (!caller) return undefined;
    const { user, key } = caller;
    return {
      active: true,
      token_type: 'api_key',
      sub: user.id,
      api_key_id: key.id,
      scopes: key.scopes,
      ...(key.expiresAt ? { exp: seconds(key.expiresAt) } : {}),
    };
  }

  private async refresh(token: string): Promise<IntrospectionResponse | undefined> {
    const session = await this.tokens.findLiveByRefreshToken(token);
    if (!session) return undefined;
    const user = await this.users.getById(session.userId);
    if (!user || user.status !== 'active') return undefined;
    return {
      active: true,
      token_type: 'refresh_token',
      sub: session.userId,
      sid: session.id,
      exp: seconds(session.expiresAt),
      iat: seconds(session.rotatedAt ?? session.createdAt),
      iss: this.auth.jwtIssuer,
      aud: this.auth.jwtAudience,
      roles: user.roles,
    };
  }
}
