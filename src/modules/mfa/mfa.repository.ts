// mfa_factors, recovery_codes and mfa_challenges. What decides whether a code counts is one statement
// each (src/database/sql.ts, rule 3): a TOTP step is taken only if it is later than the last one taken,
// a recovery code only if unused, a challenge only if live and unclaimed, so that of two concurrent
// requests with the same code or token exactly one wins.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { row, rows, type Queryable } from '../../database/sql';
import type { MfaChallengeEntity } from './mfa-challenge.entity';
import type { MfaFactorEntity } from './mfa-factor.entity';

/** A challenge dies after this many wrong codes. */
export const MAX_CHALLENGE_FAILURES = 5;
/** Abandoned challenges of any user removed with each new challenge (see createChallenge). */
export const STALE_CHALLENGES_PER_INSERT = 10;

@Injectable()
export class MfaRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  private on(manager?: EntityManager): Queryable {
    return manager ?? this.db;
  }

  /** Stores (or replaces) a pending factor; null when the user already has a confirmed one. */
  async savePendingFactor(userId: string, sealedSecret: string): Promise<string | null> {
    const saved = await row<MfaFactorEntity, 'userId'>(
      this.db,
      `WITH x AS (
         INSERT INTO mfa_factors (user_id, secret) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, last_used_step = NULL, created_at = now()
          WHERE mfa_factors.confirmed_at IS NULL
         RETURNING user_id)
       SELECT user_id FROM x`,
      [userId, sealedSecret],
    );
    return saved?.userId ?? null;
  }

  getFactor(
    userId: string,
    manager?: EntityManager,
  ): Promise<Pick<MfaFactorEntity, 'secret' | 'confirmedAt' | 'lastUsedStep'> | null> {
    return row<MfaFactorEntity, 'secret' | 'confirmedAt' | 'lastUsedStep'>(
      this.on(manager),
      `SELECT secret, confirmed_at, last_used_step FROM mfa_factors WHERE user_id = $1`,
      [userId],
    );
  }

  /**
   * Takes TOTP step `step` for the user if it is later than every step taken before; `confirm`:
   * the factor must be pending, and is confirmed by this step; otherwise it must be confirmed.
   */
  async takeStep(manager: EntityManager, userId: string, step: number, confirm: boolean): Promise<boolean> {
    const taken = await row<MfaFactorEntity, 'userId'>(
      manager,
      `WITH x AS (
         UPDATE mfa_factors
            SET last_used_step = $2,
                confirmed_at = CASE WHEN $3::boolean THEN now() ELSE confirmed_at END
          WHERE user_id = $1
            AND (last_used_step IS NULL OR last_used_step < $2)
            AND (confirmed_at IS NULL) = $3::boolean
         RETURNING user_id)
       SELECT user_id FROM x`,
      [userId, step, confirm],
    );
    return taken !== null;
  }

  /** One stored secret, to check at start that ENCRYPTION_KEY still opens them. */
  anySecret(): Promise<Pick<MfaFactorEntity, 'userId' | 'secret'> | null> {
    return row<MfaFactorEntity, 'userId' | 'secret'>(
      this.db,
      `SELECT user_id, secret FROM mfa_factors ORDER BY created_at DESC LIMIT 1`,
    );
  }

  /** After a key rotation: the secret sealed again under the current key. */
  async resealSecret(manager: EntityManager, userId: string, sealed: string): Promise<void> {
    await manager.query(`UPDATE mfa_factors SET secret = $2 WHERE user_id = $1`, [userId, sealed]);
  }

  /** Removes the factor and the recovery codes; returns whether a factor existed. */
  async deleteFactor(manager: EntityManager, userId: string): Promise<boolean> {
    await manager.query(`DELETE FROM recovery_codes WHERE user_id = $1`, [userId]);
    const deleted = await rows<MfaFactorEntity, 'userId'>(
      manager,
      `WITH x AS (DELETE FROM mfa_factors WHERE user_id = $1 RETURNING user_id) SELECT user_id FROM x`,
      [userId],
    );
    return deleted.length > 0;
  }

  /** The user's recovery codes become exactly these (hashes); the old ones stop working. */
  async replaceRecoveryCodes(manager: EntityManager, userId: string, hashes: string[]): Promise<void> {
    await manager.query(`DELETE FROM recovery_codes WHERE user_id = $1`, [userId]);
    await manager.query(
      `INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, h FROM unnest($2::text[]) AS t(h)`,
      [userId, hashes],
    );
  }

  /** Spends an unused recovery code; the number still unused after it, or null if none matched. */
  async useRecoveryCode(manager: EntityManager, userId: string, hash: string): Promise<number | null> {
    const result = (await manager.query(
      `WITH used AS (
         UPDATE recovery_codes SET used_at = now()
          WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
         RETURNING id)
       SELECT (SELECT count(*) FROM used)::int AS used,
              ((SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL)
                - (SELECT count(*) FROM used))::int AS remaining`,
      [userId, hash],
    )) as { used: number; remaining: number }[];
    const [outcome] = result;
    return outcome && outcome.used > 0 ? outcome.remaining : null;
  }

  /**
   * A new challenge. In the same statement the user's dead ones go, and a few expired ones of anyone
   * (oldest first, skipping rows another statement holds): each challenge made removes up to
   * STALE_CHALLENGES_PER_INSERT abandoned ones, so the table holds little more than live
   * challenges without a sweep of its own.
   */
  async createChallenge(tokenHash: string, userId: string, expiresAt: Date): Promise<void> {
    await this.db.query(
      `WITH gone AS (
         DELETE FROM mfa_challenges
          WHERE user_id = $2 AND (expires_at < now() OR used_at IS NOT NULL OR failures >= $4)),
       stale AS (
         DELETE FROM mfa_challenges
          WHERE token_hash IN (SELECT token_hash FROM mfa_challenges WHERE expires_at < now()
                               ORDER BY expires_at LIMIT $5 FOR UPDATE SKIP LOCKED))
       INSERT INTO mfa_challenges (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
      [tokenHash, userId, expiresAt, MAX_CHALLENGE_FAILURES, STALE_CHALLENGES_PER_INSERT],
    );
  }

  /** The user of a live challenge, without claiming it. */
  async liveChallengeUser(tokenHash: string): Promise<string | null> {
    const found = await row<MfaChallengeEntity, 'userId'>(
      this.db,
      `SELECT user_id FROM mfa_challenges
        WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() AND failures < $2`,
      [tokenHash, MAX_CHALLENGE_FAILURES],
    );
    return found?.userId ?? null;
  }

  /** Claims a live challenge in the caller's transaction (its row stays locked until the end). */
  async claimChallenge(manager: EntityManager, tokenHash: string): Promise<string | null> {
    const claimed = await row<MfaChallengeEntity, 'userId'>(
      manager,
      `WITH x AS (
         UPDATE mfa_challenges SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() AND failures < $2
         RETURNING user_id)
       SELECT user_id FROM x`,
      [tokenHash, MAX_CHALLENGE_FAILURES],
    );
    return claimed?.userId ?? null;
  }

  async countChallengeFailure(tokenHash: string): Promise<void> {
    await this.db.query(`UPDATE mfa_challenges SET failures = failures + 1 WHERE token_hash = $1`, [tokenHash]);
  }
}
