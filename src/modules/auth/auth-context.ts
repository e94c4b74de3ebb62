import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { UserEntity } from '../users/user.entity';

/** The API key a request was authenticated by (X-API-Key), instead of a session's access token. */
export interface ApiKeyAuth {
  id: string;
  scopes: string[];
  expiresAt: Date | null;
}

/**
 * What the JWT guard attaches to an authenticated request. A bearer token gives a session and its
 * token's expiry; an API key (only on routes marked @AcceptsApiKey) gives `apiKey` and neither.
 */
export interface AuthContext {
  userId: string;
  sessionId: string | null;
  roles: string[];
  tokenExpiresAt: Date | null;
  user: UserEntity;
  apiKey?: ApiKeyAuth;
}

/**
 * The session and token expiry of a bearer caller, for routes that act on the session (logout,
 * password change, the presence stream). They never accept an API key, so this throws only if a
 * route were marked @AcceptsApiKey by mistake.
 */
export function sessionOf(auth: AuthContext): { sessionId: string; tokenExpiresAt: Date } {
  if (auth.sessionId === null || auth.tokenExpiresAt === null) {
    throw new AppError(ErrorCode.Forbidden, 'This needs a signed-in session, not an API key.');
  }
  return { sessionId: auth.sessionId, tokenExpiresAt: auth.tokenExpiresAt };
}
