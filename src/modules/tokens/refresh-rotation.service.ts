// Refresh-token rotation: what a refresh needs from the tokens module. Finding the session a token
// names, rotating it in one statement, the grace window, and spotting a replaced token's reuse.
// Refresh rules (docs/security.md): the just-replaced token returns the same new pair for
// REFRESH_REUSE_GRACE_SECONDS; any replaced token presented after that revokes the whole session
// (through TokensService, like every revocation).
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { ClientInfo } from '../../common/events/domain-events';
import { addRequestTiming, runOutsideRequests } from '../../common/request-context';
import type { AuthConfig, LatchConfig } from '../../config/configuration';
import type { CteStatement } from '../../database/sql';
import { StatementGroups } from '../../database/statement-groups';
import {
  GroupedRotation,
  RefreshSessionsRepository,
  ReplacedTokenState,
  RotatedSession,
} from './refresh-sessions.repository';
import {
  hashToken,
  newOpaqueToken,
  newRefreshToken,
  openFromGrace,
  refreshTokenClaimant,
  sealForGrace,
} from './token-crypto';
import { IssuedTokens, TokensService } from './tokens.service';

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

/**
 * Prepared refreshes rotate in groups (src/database/statement-groups.ts): at most this many
 * rotation statements at the database at once; refreshes arriving meanwhile go in the next one.
 */
const ROTATIONS_RUNNING = 2;
const ROTATION_GROUP_MAX = 64;

const GRACE_WAIT_STEP_MS = 20;
const GRACE_WAIT_MAX_MS = 2000;

export function invalidRefreshToken(): AppError {
  return new AppError(ErrorCode.InvalidRefreshToken, 'The refresh token is invalid, expired or revoked.');
}

/**
 * Whether PostgreSQL refused a group's statement because of its rows (a deadlock with another
 * statement, a serialization failure, a constraint or a value): then nothing of it was written, and
 * each refresh is tried alone, so one refresh's problem is never its group's. A timeout or a lost
 * connection is not retried: it would only fail again, later.
 */
function refusedForItsRows(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(40|23|22)/.test(code);
}

@Injectable()
export class RefreshRotationService {
  private readonly auth: AuthConfig;
  private readonly groups = new StatementGroups<GroupedRotation, RotatedSession | null>(
    (items) => runOutsideRequests(() => this.rotateTogether(items)),
    (item) => item.claimant.sessionId,
    ROTATIONS_RUNNING,
    ROTATION_GROUP_MAX,
  );

  constructor(
    private readonly sessions: RefreshSessionsRepository,
    config: ConfigService<LatchConfig, true>,
    private readonly tokens: TokensService,
  ) {
    this.auth = config.get('auth', { infer: true });
  }

  /**
   * The session and user the presented token names: its own claim (tokens issued since they carry
   * one), else, for an older token, the live session it is the current token of. Unverified for the
   * former: only the rotation's match on the token's hash proves it.
   */
  async claimantOf(presented: string): Promise<RefreshClaimant | undefined> {
    const claimed = refreshTokenClaimant(presented);
    if (claimed) return claimed;
    const live = await this.tokens.findLiveByRefreshToken(presented);
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
   * `prepared.alongside`: the refresh's one round trip, which concurrent refreshes share when
   * `prepared.alongside` can be written as one of many rows (rotateTogether).
   */
  async rotate(presented: string, client: ClientInfo, prepared?: PreparedRefresh): Promise<RefreshOutcome> {
    const oldHash = hashToken(presented);
    const refreshToken = prepared?.tokens.refreshToken ?? newOpaqueToken();
    const alongside = prepared?.alongside;
    if (prepared && alongside?.row) {
      const started = performance.now();
      const session = await this.groups.submit({
        oldHash,
        newHash: hashToken(refreshToken),
        claimant: { sessionId: prepared.tokens.sessionId, userId: prepared.tokens.userId },
        graceCiphertext: this.keepsGracePairs ? this.seal(presented, prepared.tokens) : null,
        alongside: alongside as GroupedRotation['alongside'], // it has its row (checked above)
      });
      // The group's statement ran outside any one request's context: each refresh counts its own wait.
      addRequestTiming('db', performance.now() - started);
      if (session) return { kind: 'rotated', session, refreshToken };
      return this.resolveReplacedToken(presented, oldHash, client);
    }
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

  /** One group's rotations: one statement for many, the single-refresh statement for one. */
  private rotateTogether(items: GroupedRotation[]): Promise<RotatedSession | null>[] {
    if (items.length === 1) return [this.rotateAlone(items[0])];
    const together = this.sessions.rotateGroup(items, this.auth.refreshIdleTtl).catch((error: unknown) => {
      if (refusedForItsRows(error)) return undefined;
      throw error;
    });
    return items.map((item, i) => together.then((answers) => (answers ? answers[i] : this.rotateAlone(item))));
  }

  private rotateAlone(item: GroupedRotation): Promise<RotatedSession | null> {
    return this.sessions.rotate(item.oldHash, item.newHash, this.auth.refreshIdleTtl, item);
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
    await this.tokens.revokeForReuse(sessionId, userId, client);
    return { kind: 'reuse', sessionId, userId };
  }
}
