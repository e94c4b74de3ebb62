// Deletes what no one needs any more, one small batch per statement (each its own short
// transaction, so no lock is held for long), on one connection that holds a PostgreSQL advisory
// lock: while one instance cleans, the others skip. Used by the scheduled task and by the CLI.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { deleteBatch, updateBatch } from '../../database/sql';

/** pg_try_advisory_lock key of the cleanup (migrations use 7_411_001). */
export const TOKEN_CLEANUP_LOCK_KEY = 7_411_006;

/** One connection holding the cleanup lock; the tokens tables' batches run on it (mail's on MailOutbox). */
export class CleanupSession {
  constructor(private readonly runner: QueryRunner) {}

  /** Live sessions past their expiry or idle limit (`idleSeconds` > 0; their tokens are refused anyway). */
  deleteExpiredSessions(limit: number, idleSeconds = 0): Promise<number> {
    return deleteBatch(
      this.runner,
      'refresh_sessions',
      `revoked_at IS NULL AND (expires_at < now()
         OR ($1::int > 0 AND coalesce(rotated_at, created_at) < now() - make_interval(secs => $1::int)))`,
      [idleSeconds],
      limit,
    );
  }

  /**
   * Revoked sessions past the retention. Revoked ones inside it stay, with their token history,
   * so reuse detection and the audit trail can still find them; history goes with its session.
   */
  deleteRevokedSessions(retentionDays: number, limit: number): Promise<number> {
    return deleteBatch(
      this.runner,
      'refresh_sessions',
      'revoked_at < now() - make_interval(days => $1)',
      [retentionDays],
      limit,
    );
  }

  /** The sealed grace-window pair is needed only inside REFRESH_REUSE_GRACE_SECONDS. */
  clearGraceCiphertexts(graceSeconds: number, limit: number): Promise<number> {
    return updateBatch(
      this.runner,
      'refresh_sessions',
      'grace_ciphertext = NULL',
      'grace_ciphertext IS NOT NULL AND rotated_at < now() - make_interval(secs => $1)',
      [graceSeconds],
      limit,
    );
  }

  /** Reset and verification tokens that were spent (or voided) or have expired. */
  deleteSpentOneTimeTokens(limit: number): Promise<number> {
    return deleteBatch(this.runner, 'one_time_tokens', 'expires_at < now() OR used_at IS NOT NULL', [], limit);
  }
}

@Injectable()
export class TokenCleanupRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Runs `work` while holding the cleanup lock; null (nothing run) when another holder has it. */
  async withLock<T>(work: (session: CleanupSession) => Promise<T>): Promise<T | null> {
    const runner = this.db.createQueryRunner();
    await runner.connect();
    let locked = false;
    try {
      const rows = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [TOKEN_CLEANUP_LOCK_KEY])) as {
        locked: boolean;
      }[];
      locked = rows[0]?.locked === true;
      if (!locked) return null;
      return await work(new CleanupSession(runner));
    } finally {
      if (locked) await runner.query('SELECT pg_advisory_unlock($1)', [TOKEN_CLEANUP_LOCK_KEY]).catch(() => undefined);
      await runner.release();
    }
  }
}
