// Refresh sessions: creation, rotation with a grace window, reuse detection, revocation.
// Refresh rules (docs/security.md): the just-replaced token returns the same new pair for
// REFRESH_REUSE_GRACE_SECONDS; any replaced token presented after that revokes the whole session.
// Every revocation goes through this service, which announces it (SessionRevokedEvent) itself.
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, ErrorCode } from '../../common/errors/app-error';
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
import {
  LiveSession,
  RefreshSessionsRepository,
  ReplacedTokenState,
  RotatedSession,
  SessionMeta,
  SessionRow,
} from './refresh-sessions.repository';
import {
  hashToken,
  newOpaqueToken,
  newRefreshToken,
  openFromGrace,
  refreshTokenClaimant,
  sealForGrace,
} from './token-crypto';

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

/** The pair as kept for the grace window (its refresh expiry is the session's, read with it). */
interface SealedPair {
  accessToken: string;
  accessExpiresAt: string;
  refreshToken: string;
}

/** The session and user a refresh token belongs to, as far as known before the rotation. */
export interface RefreshClaimant {
  sessionId: string;
  userId: string;
}

/**
 * A refresh's new pair, signed before the rotation for the session its token names, with another
 * module's insert (the audit row) that the rotation's statement writes if it rotates.
 */
export interface PreparedRefresh {
  tokens: IssuedTokens;
  alongside?: CteStatement;
}

export type RefreshOutcome =
  | { kind: 'rotated'; session: RotatedSession; refreshToken: string }
  | { kind: 'replayed'; tokens: IssuedTokens }
  | { kind: 'reuse'; sessionId: string; userId: string };

const GRACE_WAIT_STEP_MS = 20;
const GRACE_WAIT_MAX_MS = 2000;

export function invalidRefreshToken(): AppError {
  return new AppError(ErrorCode.InvalidRefreshToken, 'The refresh token is invalid, expired or revoked.');
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

  /**
   * The session and user the presented token names: its own claim (tokens issued since they carry
   * one), else, for an older token, the live session it is the current token of. Unverified for the
   * former: only the rotation's match on the token's hash proves it.
   */
  async claimantOf(presented: string): Promise<RefreshClaimant | undefined> {
    const claimed = refreshTokenClaimant(presented);
    if (claimed) return claimed;
    const live = await this.findLiveByRefreshToken(presented);
    return live ? { sessionId: live.id, userId: live.userId } : undefined;
  }

  /** A new refresh token for the session (see token-crypto.ts). */
  newRefreshToken(claimant: RefreshClaimant): string {
    return newRefreshToken(claimant.sessionId, claimant.userId);
  }

  /**
   * When a session refreshed now would end at the latest, as far as known before the rotation (its
   * idle limit; the rotation returns the real end): what a prepared pair's access token is capped at.
   */
  idleLimitFromNow(): Date | undefined {
    return this.auth.refreshIdleTtl > 0 ? new Date(Date.now() + this.auth.refreshIdleTtl * 1000) : undefined;
  }

  /**
   * Rotates the presented token. Returns the session to sign a new access token for, the pair
   * already issued for it (grace window), or a detected reuse (the session is then revoked and
   * RefreshReuseDetectedEvent and SessionRevokedEvent announced). With `prepared`, one statement
   * rotates only the session the new pair is for, keeps that pair for the grace window and writes
   * `prepared.alongside`: the refresh's one round trip.
   */
  async refresh(presented: string, client: ClientInfo, prepared?: PreparedRefresh): Promise<RefreshOutcome> {
    const oldHash = hashToken(presented);
    const refreshToken = prepared?.tokens.refreshToken ?? newOpaqueToken();
    const session = await this.sessions.rotate(
      oldHash,
      hashToken(refreshToken),
      this.auth.refreshIdleTtl,
      prepared
        ? {
            claimant: { sessionId: prepared.tokens.sessionId, userId: prepared.tokens.userId },
            graceCiphertext: this.keepsGracePairs ? this.seal(presented, prepared.tokens) : null,
            alongside: prepared.alongside,
          }
        : {},
    );
    if (session) return { kind: 'rotated', session, refreshToken };
    return this.resolveReplacedToken(presented, oldHash, client);
  }

  /** Whether rememberForGrace() runs a statement (REFRESH_REUSE_GRACE_SECONDS > 0). */
  get keepsGracePairs(): boolean {
    return this.auth.refreshReuseGraceSeconds > 0;
  }

  /**
   * Keeps the new pair for the grace window, sealed under the token it replaced, when it was not
   * kept by the rotation itself (a pair signed again after it); runs only when keepsGracePairs.
   */
  async rememberForGrace(replacedToken: string, tokens: IssuedTokens): Promise<void> {
    if (!this.keepsGracePairs) return;
    await this.sessions.storeGraceCiphertext(
      tokens.sessionId,
      hashToken(tokens.refreshToken),
      this.seal(replacedToken, tokens),
    );
  }

  private seal(replacedToken: string, tokens: IssuedTokens): Buffer {
    const sealed: SealedPair = {
      accessToken: tokens.accessToken,
      accessExpiresAt: tokens.accessExpiresAt.toISOString(),
      refreshToken: tokens.refreshToken,
    };
    return sealForGrace(sealed, replacedToken, tokens.sessionId);
  }

  /** The end of a session as its rotation returned it: the nearer of its absolute and idle limits. */
  private endAfterRotation(state: ReplacedTokenState): Date {
    const idleMs = this.auth.refreshIdleTtl * 1000;
    if (idleMs <= 0) return state.expiresAt;
    return new Date(Math.min(state.expiresAt.getTime(), state.rotatedAt.getTime() + idleMs));
  }

  private async resolveReplacedToken(presented: string, hash: Buffer, client: ClientInfo): Promise<RefreshOutcome> {
    const graceMs = this.auth.refreshReuseGraceSeconds * 1000;
    for (let waited = 0; ; waited += GRACE_WAIT_STEP_MS) {
      const state = await this.sessions.findByReplacedToken(hash);
      if (!state) break;
      if (state.revokedAt || state.expiresAt <= state.now) throw invalidRefreshToken();
      const age = state.now.getTime() - state.rotatedAt.getTime();
      if (age > graceMs) return this.reuseDetected(state.id, state.userId, client);
      if (state.graceCiphertext) {
        const pair = openFromGrace<SealedPair>(state.graceCiphertext, presented, state.id);
        if (!pair) throw invalidRefreshToken();
        return {
          kind: 'replayed',
          tokens: {
            sessionId: state.id,
            userId: state.userId,
            accessToken: pair.accessToken,
            accessExpiresAt: new Date(pair.accessExpiresAt),
            refreshToken: pair.refreshToken,
            refreshExpiresAt: this.endAfterRotation(state),
          },
        };
      }
      // The winning request has rotated but not yet stored its pair: wait for it briefly.
      if (waited >= GRACE_WAIT_MAX_MS) throw invalidRefreshToken();
      await sleep(GRACE_WAIT_STEP_MS);
    }

    const historic = await this.sessions.findSessionOfHistoricToken(hash);
    if (historic) return this.reuseDetected(historic.id, historic.userId, client);
    throw invalidRefreshToken();
  }

  private async reuseDetected(sessionId: string, userId: string, client: ClientInfo): Promise<RefreshOutcome> {
    const revoked = await this.sessions.revoke(sessionId, 'reuse');
    await this.forgetSessions([sessionId]);
    if (revoked) this.logger.warn(`Refresh token reuse detected; session ${sessionId} revoked`);
    this.events.publish(new RefreshReuseDetectedEvent(userId, sessionId, client));
    if (revoked) await this.sessionsEnded(userId, [sessionId], 'reuse', client);
    return { kind: 'reuse', sessionId, userId };
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
