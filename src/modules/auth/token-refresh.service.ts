// POST /auth/refresh and the refresh_token grant: exchanges a refresh token for a new pair. The
// pair is signed before the rotation, so a routine refresh is one round trip: the statement that
// rotates the session (RefreshRotationService) also keeps the pair for the grace window and writes
// the audit row.
import { Injectable } from '@nestjs/common';
import { ClientInfo, TokenRefreshedEvent } from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { AuditTrail } from '../audit/audit-trail';
import { AccessTokenService } from '../tokens/access-token.service';
import { invalidRefreshToken, PreparedRefresh, RefreshRotationService } from '../tokens/refresh-rotation.service';
import { IssuedTokens, TokensService } from '../tokens/tokens.service';
import type { UserEntity } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import type { TokenPairResponse } from './dto/token-pair.response';
import { issueTokens, tokenPairResponse } from './token-pair';

@Injectable()
export class TokenRefreshService {
  constructor(
    private readonly users: UsersService,
    private readonly tokens: TokensService,
    private readonly rotation: RefreshRotationService,
    private readonly accessTokens: AccessTokenService,
    private readonly events: DomainEvents,
    private readonly auditTrail: AuditTrail,
  ) {}

  /**
   * One round trip when the token names an active user's session (see RefreshRotationService.rotate):
   * the new pair is signed first, and the statement that rotates the session keeps it for the grace
   * window and writes the audit row.
   */
  async refresh(presented: string, client: ClientInfo): Promise<TokenPairResponse> {
    const prepared = await this.prepare(presented, client);
    const outcome = await this.rotation.rotate(presented, client, prepared?.refresh);
    if (outcome.kind === 'reuse') throw invalidRefreshToken();
    if (outcome.kind === 'replayed') {
      const user = await this.users.getById(outcome.tokens.userId);
      if (!user || user.status !== 'active') throw invalidRefreshToken();
      return tokenPairResponse(outcome.tokens, user);
    }
    const { session, refreshToken } = outcome;
    if (prepared) {
      let issued: IssuedTokens = { ...prepared.refresh.tokens, refreshExpiresAt: session.expiresAt };
      if (issued.accessExpiresAt > session.expiresAt) {
        // The session ends before the prepared access token would: sign it again, capped.
        issued = issueTokens(this.accessTokens, prepared.user, session, refreshToken);
        await this.rotation.rememberForGrace(presented, issued);
      }
      this.events.publish(prepared.refreshed);
      return tokenPairResponse(issued, prepared.user);
    }
    // Unprepared: the token named no session of an active user, yet was current.
    const user = await this.users.getById(session.userId);
    if (!user || user.status !== 'active') {
      await this.tokens.revokeSession(session.id, 'disabled', client);
      throw invalidRefreshToken();
    }
    const issued = issueTokens(this.accessTokens, user, session, refreshToken);
    await this.rotation.rememberForGrace(presented, issued);
    this.events.publish(new TokenRefreshedEvent(user.id, session.id, client));
    return tokenPairResponse(issued, user);
  }

  /** The pair a refresh of this token would issue, signed before the rotation; none for an inactive user. */
  private async prepare(
    presented: string,
    client: ClientInfo,
  ): Promise<{ refresh: PreparedRefresh; user: UserEntity; refreshed: TokenRefreshedEvent } | undefined> {
    const claimant = await this.rotation.claimantOf(presented);
    if (!claimant) return undefined;
    const user = await this.users.getById(claimant.userId);
    if (!user || user.status !== 'active') return undefined;
    const tokens = issueTokens(
      this.accessTokens,
      user,
      { id: claimant.sessionId, expiresAt: this.rotation.idleLimitFromNow() },
      this.rotation.newRefreshToken(claimant),
    );
    const refreshed = new TokenRefreshedEvent(user.id, claimant.sessionId, client, true);
    return { refresh: { tokens, alongside: this.auditTrail.insertOf(refreshed) }, user, refreshed };
  }
}
