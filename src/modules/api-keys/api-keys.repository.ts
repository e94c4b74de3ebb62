// api_keys: a user's keys, found by keyed hash (unique index) when a key is presented. Creation holds
// a per-user advisory lock, so two concurrent creations cannot both slip under the per-user limit.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { deleteBatch, row, rows } from '../../database/sql';
import { ApiKeyEntity } from './api-key.entity';

/** pg_advisory_xact_lock(key, hashtext(user id)) class of API key creation (see signing-keys.repository.ts). */
export const API_KEYS_LOCK_KEY = 7_411_020;

/** What lists and answers show: everything but the hash. */
export type ApiKeyRow = Pick<
  ApiKeyEntity,
  'id' | 'userId' | 'name' | 'prefix' | 'scopes' | 'createdAt' | 'expiresAt' | 'lastUsedAt'
>;
/** What a presented key is checked against. */
export type LiveApiKey = Pick<ApiKeyEntity, 'id' | 'userId' | 'keyHash' | 'scopes' | 'expiresAt'>;

const COLUMNS = 'id, user_id, name, prefix, scopes, created_at, expires_at, last_used_at';
const LIVE = '(expires_at IS NULL OR expires_at > now())';

export interface NewApiKey {
  userId: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: string[];
  expiresInDays: number | null;
}

@Injectable()
export class ApiKeysRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Inserts the key unless its owner already holds `max` live keys (then null). */
  create(key: NewApiKey, max: number): Promise<ApiKeyRow | null> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [API_KEYS_LOCK_KEY, key.userId]);
      return row<ApiKeyEntity, keyof ApiKeyRow>(
        tx,
        `WITH inserted AS (
           INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes, expires_at)
           SELECT $1, $2, $3, $4, $5::text[],
                  CASE WHEN $6::int IS NULL THEN NULL ELSE now() + make_interval(days => $6::int) END
           WHERE (SELECT count(*) FROM api_keys WHERE user_id = $1 AND ${LIVE}) < $7
           RETURNING ${COLUMNS})
         SELECT * FROM inserted`,
        [key.userId, key.name, key.prefix, key.keyHash, key.scopes, key.expiresInDays, max],
      );
    });
  }

  /** A user's keys, expired ones included, oldest first. */
  listForUser(userId: string): Promise<ApiKeyRow[]> {
    return rows<ApiKeyEntity, keyof ApiKeyRow>(
      this.db,
      `SELECT ${COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at, id`,
      [userId],
    );
  }

  /** The unexpired key whose stored hash is one of `hashes` (one per ENCRYPTION_KEY), or null. */
  findLiveByHash(hashes: string[]): Promise<LiveApiKey | null> {
    return row<ApiKeyEntity, keyof LiveApiKey>(
      this.db,
      `SELECT id, user_id, key_hash, scopes, expires_at FROM api_keys WHERE key_hash = ANY($1::varchar[]) AND ${LIVE}`,
      [hashes],
    );
  }

  /** Replaces a hash made under a retired ENCRYPTION_KEY with the current one. */
  async rehash(id: string, keyHash: string): Promise<void> {
    await this.db.query('UPDATE api_keys SET key_hash = $2 WHERE id = $1', [id, keyHash]);
  }

  /** Deletes the user's key; its stored hash (to evict it from caches), or null if there was none. */
  async delete(userId: string, id: string): Promise<string | null> {
    const deleted = await row<ApiKeyEntity, 'keyHash'>(
      this.db,
      `WITH deleted AS (DELETE FROM api_keys WHERE id = $1 AND user_id = $2 RETURNING key_hash) SELECT * FROM deleted`,
      [id, userId],
    );
    return deleted?.keyHash ?? null;
  }

  /** Deletes every key of the user; their ids and stored hashes (to evict them from caches). */
  async deleteAllForUser(userId: string): Promise<Pick<ApiKeyEntity, 'id' | 'keyHash'>[]> {
    return rows<ApiKeyEntity, 'id' | 'keyHash'>(
      this.db,
      `WITH deleted AS (DELETE FROM api_keys WHERE user_id = $1 RETURNING id, key_hash) SELECT * FROM deleted`,
      [userId],
    );
  }

  /** Deletes one batch (at most `limit`) of keys that expired more than `days` ago; returns how many. */
  deleteExpiredOlderThan(days: number, limit: number): Promise<number> {
    return deleteBatch(this.db, 'api_keys', 'expires_at < now() - make_interval(days => $1)', [days], limit);
  }

  /** Stamps lastUsedAt, at most once a minute whatever the number of instances. */
  async touch(id: string): Promise<void> {
    await this.db.query(
      `UPDATE api_keys SET last_used_at = now()
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [id],
    );
  }
}
