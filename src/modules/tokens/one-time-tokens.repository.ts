// one_time_tokens: reset and verification tokens, stored only as SHA-256 hashes. Redeeming is one
// UPDATE ... RETURNING, so a token can be spent once even when two requests race with it.
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { row, rows } from '../../database/sql';
import type { OneTimeTokenEntity, OneTimeTokenPurpose } from './one-time-token.entity';

@Injectable()
export class OneTimeTokensRepository {
  async insert(
    manager: EntityManager,
    userId: string,
    purpose: OneTimeTokenPurpose,
    tokenHash: Buffer,
    ttlSeconds: number,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO one_time_tokens (user_id, purpose, token_hash, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [userId, purpose, tokenHash, ttlSeconds],
    );
  }

  /** Spends every unspent token of the user for the purpose; returns how many were voided. */
  async voidAll(manager: EntityManager, userId: string, purpose: OneTimeTokenPurpose): Promise<number> {
    const voided = await rows<OneTimeTokenEntity, 'id'>(
      manager,
      `WITH voided AS (
         UPDATE one_time_tokens SET used_at = now()
          WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL
          RETURNING id
       )
       SELECT id FROM voided`,
      [userId, purpose],
    );
    return voided.length;
  }

  /** Whether a token could be redeemed right now (it is not spent by looking). */
  async isLive(manager: EntityManager, tokenHash: Buffer, purpose: OneTimeTokenPurpose): Promise<boolean> {
    const live = await row<OneTimeTokenEntity, 'id'>(
      manager,
      `SELECT id FROM one_time_tokens
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()`,
      [tokenHash, purpose],
    );
    return live !== null;
  }

  /** Marks a live token used and returns its user, or null when it is unknown, spent or expired. */
  async redeem(manager: EntityManager, tokenHash: Buffer, purpose: OneTimeTokenPurpose): Promise<string | null> {
    const redeemed = await row<OneTimeTokenEntity, 'userId'>(
      manager,
      `WITH redeemed AS (
         UPDATE one_time_tokens SET used_at = now()
          WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
          RETURNING user_id
       )
       SELECT user_id FROM redeemed`,
      [tokenHash, purpose],
    );
    return redeemed?.userId ?? null;
  }
}
