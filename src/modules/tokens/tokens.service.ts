// Refresh sessions: creation, look-ups, revocation. Rotation, the grace window and reuse detection
// are RefreshRotationService's (refresh-rotation.service.ts); a detected reuse is revoked here.
// Every revocation goes through this service, which announces it (SessionRevokedEvent) itself.
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import {
  ClientInfo,
  RefreshReuseDetectedEvent,
  SessionRevokedEvent,
  SessionRevokeReason,
} from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import type { AuthConfig, LatchConfig } from '../../config/configuration';
import type { CteStatement } from '../../database/sql';
import { CacheKind, StateCache } from '../cache/state-cache.service';
import { LiveSession, RefreshSessionsRepository, SessionMeta, SessionRow } from './refresh-sessions.repository';
import { hashToken, newRefreshToken } from './token-crypto';

/** Live sessions in the state cache: what the JWT strategy checks on every request. */
const LIVE_SESSION_CODEC = {
  encode: (s: LiveSession): string => JSON.stringify(s),
  decode: (raw: string): LiveSession => {
    const parsed = JSON.parse(raw) as { id: string; userId: string; expiresAt: string };
    return { id: parsed.id, userId: parsed.userId, expiresAt: new Date(parsed.expiresAt) };
  },
  ttlMs: (s: LiveSession): number => s.expiresAt.getTime() - Date.now(),
};

/** The parts of a token pair that the grace window must return unchanged. */
export interface IssuedTokens {
  sessionId: string;
  userId: string;
  accessToken: string;
  accessExpiresAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
}

@Injectable()
export class TokensService {
  private readonly logger = new Logger(TokensService.name);
  private readonly auth: AuthConfig;

  constructor(
    private readonly sessions: RefreshSessionsRepository,
    config: ConfigService<LatchConfig, true>,
    private readonly cache: StateCache,
    private readonly events: DomainEvents,
  ) {
    this.auth = config.get('auth', { infer: true });
  }

  /**
   * A new session; beyond MAX_SESSIONS_PER_USER live ones the oldest end in the same statement,
   * like any revocation (cache evicted, SessionRevokedEvent published). `options.id` is the
   * session's id when the caller chose it (a uuid), `options.alongside` another module's insert
   * that commits with the session or not at all (a login's audit record).
   */
  async startSession(
    userId: string,
    meta: SessionMeta,
    options: { id?: string; alongside?: CteStatement } = {},
  ): Promise<{ session: LiveSession; refreshToken: string }> {
    const id = options.id ?? randomUUID();
    const refreshToken = newRefreshToken(id, userId);
    const { session, ended } = await this.sessions.createWithinLimit(
      userId,
      hashToken(refreshToken),
      this.auth.refreshTokenTtl,
      meta,
      this.auth.maxSessionsPerUser,
      { ...options, id },
    );
    if (this.auth.refreshIdleTtl > 0) {
      // The nearer of the two limits, for refreshExpiresIn and the access token's cap.
      const idleEnd = Date.now() + this.auth.refreshIdleTtl * 1000;
      if (idleEnd < session.expiresAt.getTime()) session.expiresAt = new Date(idleEnd);
    }
    if (ended.length > 0) {
      await this.forgetSessions(ended);
      // The user still has the session just started, so this never ends their last one.
      const client = { ip: meta.ip ?? null, userAgent: meta.userAgent ?? null };
      this.events.publish(new SessionRevokedEvent(userId, ended, 'session_limit', false, client));
    }
    return { session, refreshToken };
  }

  /** Read through the state cache: a warm cache answers without a query. */
  getLiveSession(sessionId: string): Promise<LiveSession | null> {
    return this.cache.getOrLoad(
      CacheKind.Session,
      sessionId,
      () => this.sessions.getLive(sessionId),
      LIVE_SESSION_CODEC,
    );
  }

  /** The live session from this instance's memory alone (shared and frozen), or undefined: see StateCache.peek. */
  peekLiveSession(sessionId: string): Readonly<LiveSession> | undefined {
    return this.cache.peek(CacheKind.Session, sessionId, LIVE_SESSION_CODEC);
  }

  /** The live session a refresh token belongs to now, or null (unknown, replaced, revoked, expired, idle). */
  findLiveByRefreshToken(
    presented: string,
  ): Promise<{ id: string; userId: string; expiresAt: Date; createdAt: Date; rotatedAt: Date | null } | null> {
    if (presented.length === 0 || presented.length > 1024) return Promise.resolve(null);
    return this.sessions.findLiveByToken(hashToken(presented), this.auth.refreshIdleTtl);
  }

  listSessions(userId: string): Promise<SessionRow[]> {
    return this.sessions.listLive(userId);
  }

  // Every revocation evicts the cached session before it returns, on all instances, and is announced.
  async revokeSession(
    sessionId: string,
    reason: SessionRevokeReason,
    client: ClientInfo,
    ownerId?: string,
  ): Promise<LiveSession | null> {
    const revoked = await this.sessions.revoke(sessionId, reason, ownerId);
    if (!revoked) return null;
    await this.forgetSessions([revoked.id]);
    await this.sessionsEnded(revoked.userId, [revoked.id], reason, client);
    return revoked;
  }

  async revokeAllSessions(
    userId: string,
    reason: SessionRevokeReason,
    client: ClientInfo,
    exceptSessionId?: string,
  ): Promise<string[]> {
    const ended = await this.sessions.revokeAllForUser(userId, reason, exceptSessionId);
    await this.forgetSessions(ended);
    await this.sessionsEnded(userId, ended, reason, client);
    return ended;
  }

  /**
   * Ends a session whose replaced refresh token came back after the grace window (possible theft):
   * evicted and RefreshReuseDetectedEvent announced even if it had already ended, SessionRevokedEvent
   * only if this revoked it.
   */
  async revokeForReuse(sessionId: string, userId: string, client: ClientInfo): Promise<void> {
    const revoked = await this.sessions.revoke(sessionId, 'reuse');
    await this.forgetSessions([sessionId]);
    if (revoked) this.logger.warn(`Refresh token reuse detected; session ${sessionId} revoked`);
    this.events.publish(new RefreshReuseDetectedEvent(userId, sessionId, client));
    if (revoked) await this.sessionsEnded(userId, [sessionId], 'reuse', client);
  }

  private async forgetSessions(sessionIds: string[]): Promise<void> {
    await this.cache.forget(CacheKind.Session, sessionIds);
  }

  /** Announces ended sessions, so caches forget them and presence can tell "offline". */
  private async sessionsEnded(
    userId: string,
    sessionIds: string[],
    reason: SessionRevokeReason,
    client: ClientInfo,
  ): Promise<void> {
    if (sessionIds.length === 0) return;
    const lastSessionEnded = (await this.sessions.countLive(userId)) === 0;
    this.events.publish(new SessionRevokedEvent(userId, sessionIds, reason, lastSessionEnded, client));
  }
}
