// Bearer tokens: signature, pinned algorithm, kid, issuer, audience, expiry and typ are checked by
// AccessTokenService (jose, keys from memory); then the claims' shapes, and the session must still
// be live and the user active, so logout and revocation act at once.
import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '../../../common/errors/app-error';
import type { AuthContext } from '../auth-context';
import { AccessTokenService, VerifiedAccessToken } from '../../tokens/access-token.service';
import { TokensService } from '../../tokens/tokens.service';
import type { Role } from '../../users/role';
import { UsersService } from '../../users/users.service';

interface AccessClaims {
  sub: string;
  sid: string;
  exp: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JTI = /^[A-Za-z0-9_-]{1,64}$/;
const KNOWN_ROLES: ReadonlySet<unknown> = new Set<Role>(['user', 'admin']);
const MAX_ROLES = 8;

/**
 * The claims' shapes, checked before any of them reaches a query or a cache key: a token signed
 * with our key but carrying odd claims (a leaked retired key, a future bug) is a 401, never a 500.
 */
function accessClaims(payload: VerifiedAccessToken['payload']): AccessClaims | undefined {
  const { sub, sid, exp, iat, jti, roles } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || !UUID.test(sub)) return undefined;
  if (typeof sid !== 'string' || !UUID.test(sid)) return undefined;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return undefined;
  if (typeof jti !== 'string' || !JTI.test(jti)) return undefined;
  if (!Array.isArray(roles) || roles.length > MAX_ROLES || !roles.every((role) => KNOWN_ROLES.has(role))) {
    return undefined;
  }
  return { sub, sid, exp };
}

function unauthorized(): AppError {
  return new AppError(ErrorCode.Unauthorized, 'The access token is invalid, expired or revoked.');
}

@Injectable()
export class JwtStrategy {
  constructor(
    private readonly accessTokens: AccessTokenService,
    private readonly tokens: TokensService,
    private readonly users: UsersService,
  ) {}

  /** The caller a bearer token stands for; 401 for any token that is not a live session's. */
  async authenticate(token: string): Promise<AuthContext> {
    const checked = await this.check(token);
    if (!checked) throw unauthorized();
    return checked.auth;
  }

  /** The caller and the verified claims, or undefined for any token that is not a live session's. */
  async check(token: string): Promise<{ auth: AuthContext; payload: VerifiedAccessToken['payload'] } | undefined> {
    const verified = await this.accessTokens.verify(token);
    if (!verified) return undefined;
    const claims = accessClaims(verified.payload);
    if (!claims) return undefined;
    const { sub, sid, exp } = claims;
    // Both ids come from the verified signature, so on a cold cache the two lookups run side by side.
    const [session, user] = await Promise.all([this.tokens.getLiveSession(sid), this.users.getById(sub)]);
    if (!session || session.userId !== sub) return undefined;
    if (!user || user.status !== 'active') return undefined;
    return {
      auth: { userId: sub, sessionId: sid, roles: user.roles, tokenExpiresAt: new Date(exp * 1000), user },
      payload: verified.payload,
    };
  }
}
