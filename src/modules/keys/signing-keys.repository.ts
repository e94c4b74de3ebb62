// signing_keys: the managed keys. Changes run in a transaction holding an advisory lock, so one
// instance at a time creates the first key, rotates or revokes.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { rows } from '../../database/sql';
import { SigningKeyEntity } from './signing-key.entity';

/** pg_advisory_xact_lock key of key management (migrations use 7_411_001, token cleanup 7_411_006). */
export const SIGNING_KEYS_LOCK_KEY = 7_411_013;

export type StoredKey = Pick<
  SigningKeyEntity,
  'kid' | 'alg' | 'publicJwk' | 'privateSealed' | 'createdAt' | 'activatesAt' | 'revokedAt'
>;

const COLUMNS = 'kid, alg, public_jwk, private_sealed, created_at, activates_at, revoked_at';

@Injectable()
export class SigningKeysRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Every key, oldest activation first. */
  all(db: EntityManager | DataSource = this.db): Promise<StoredKey[]> {
    return rows<SigningKeyEntity, keyof StoredKey>(
      db,
      `SELECT ${COLUMNS} FROM signing_keys ORDER BY activates_at, created_at`,
    );
  }

  /** Runs `work` in a transaction that holds the key-management lock (waits for it). */
  locked<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [SIGNING_KEYS_LOCK_KEY]);
      return work(tx);
    });
  }

  async insert(
    tx: EntityManager,
    key: { kid: string; alg: string; publicJwk: object; privateSealed: string; activatesAt: Date | 'now' },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO signing_keys (kid, alg, public_jwk, private_sealed, activates_at)
       VALUES ($1, $2, $3, $4, ${key.activatesAt === 'now' ? 'now()' : '$5'})`,
      [
        key.kid,
        key.alg,
        JSON.stringify(key.publicJwk),
        key.privateSealed,
        ...(key.activatesAt === 'now' ? [] : [key.activatesAt]),
      ],
    );
  }

  /** Replaces a key's sealed private part (re-sealed under the current ENCRYPTION_KEY). */
  async reseal(tx: EntityManager, kid: string, privateSealed: string): Promise<void> {
    await tx.query(`UPDATE signing_keys SET private_sealed = $2 WHERE kid = $1`, [kid, privateSealed]);
  }

  /** Marks a key revoked; false when it is unknown or already revoked. */
  async revoke(tx: EntityManager, kid: string): Promise<boolean> {
    const revoked = await rows<SigningKeyEntity, 'kid'>(
      tx,
      `WITH r AS (UPDATE signing_keys SET revoked_at = now() WHERE kid = $1 AND revoked_at IS NULL RETURNING kid)
       SELECT kid FROM r`,
      [kid],
    );
    return revoked.length > 0;
  }
}
