// The pair a sign-in and a refresh answer with: an access token signed for the session, bundled
// with the session's refresh token, and its response shape.
import type { AccessTokenService } from '../tokens/access-token.service';
import type { IssuedTokens } from '../tokens/tokens.service';
import { toUserResponse } from '../users/dto/user.response';
import type { UserEntity } from '../users/user.entity';
import type { TokenPairResponse } from './dto/token-pair.response';

/** Signs an access token for the session and bundles it with the session's refresh token. */
export function issueTokens(
  accessTokens: AccessTokenService,
  user: UserEntity,
  session: { id: string; expiresAt?: Date },
  refreshToken: string,
): IssuedTokens {
  const access = accessTokens.sign(user.id, session.id, user.roles, session.expiresAt);
  return {
    sessionId: session.id,
    userId: user.id,
    accessToken: access.token,
    accessExpiresAt: access.expiresAt,
    refreshToken,
    // A prepared refresh's is replaced by the one its rotation returns.
    refreshExpiresAt: session.expiresAt ?? access.expiresAt,
  };
}

export function tokenPairResponse(tokens: IssuedTokens, user: UserEntity): TokenPairResponse {
  const now = Date.now();
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    tokenType: 'Bearer',
    expiresIn: Math.max(0, Math.ceil((tokens.accessExpiresAt.getTime() - now) / 1000)),
    refreshExpiresIn: Math.max(0, Math.ceil((tokens.refreshExpiresAt.getTime() - now) / 1000)),
    user: toUserResponse(user),
  };
}
