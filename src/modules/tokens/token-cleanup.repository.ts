// Deletes what no one needs any more, one small batch per statement (each its own short
// transaction, so no lock is held for long), on one connection that holds a PostgreSQL advisory
// lock: while one instance cleans, the others skip. Used by the scheduled task and by the CLI.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';

/** pg_try_advisory_lock key of the cleanup (migrations use 7_411_001). */
export const TOKEN_CLEANUP_LOCK_KEY = 7_411_006;

/** One connection holding the cleanup lock; every batch runs on it. */
export class CleanupSession {
  constructor(private readonly runner: QueryRunner) {}

  private async affected(sql: string, params: unknown[]): Promise<number> {
    // TypeORM answers [rows, affected count] for DELETE and UPDATE on PostgreSQL.
    const result = (await this.runner.query(sql, params)) as [unknown[], number];
    return result[1] ?? 0;
  }

  /** Live sessions past their expiry (their tokens are refused anyway). */
  deleteExpiredSessions(limit: number): Promise<number> {
    return this.affected(
      `DELETE FROM refresh_sessions WHERE id IN (
         SELECT id FROM refresh_sessions
          WHERE revoked_at IS NULL AND expires_at < now()
          LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [limit],
    );
  }

  /**
   * Revoked sessions past the retention. Revoked ones inside it stay, with their token history,
   * so reuse detection and the audit trail can still find them; history goes with its session.
   */
  deleteRevokedSessions(retentionDays: number, limit: number): Promise<number> {
    return this.affected(
      `DELETE FROM refresh_sessions WHERE id IN (
         SELECT id FROM refresh_sessions
          WHERE revoked_at < now() - make_interval(days => $1)
          LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [retentionDays, limit],
    );
  }

  /** The sealed grace-window pair is needed only inside REFRESH_REUSE_GRACE_SECONDS. */
  clearGraceCiphertexts(graceSeconds: number, limit: number): Promise<number> {
    return this.affected(
      `UPDATE refresh_sessions SET grace_ciphertext = NULL WHERE id IN (
         SELECT id FROM refresh_sessions
          WHERE grace_ciphertext IS NOT NULL AND rotated_at < now() - make_interval(secs => $1)
          LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [graceSeconds, limit],
    );
  }

  /** Reset and verification tokens that were spent (or voided) or have expired. */
  deleteSpentOneTimeTokens(limit: number): Promise<number> {
    return this.affected(
      `DELETE FROM one_time_tokens WHERE id IN (
         SELECT id FROM one_time_tokens
          WHERE expires_at < now() OR used_at IS NOT NULL
          LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [limit],
    );
  }

  /** Delivered mail past its retention; pending and failed (parked) messages always stay. */
  deleteSentMail(retentionDays: number, limit: number): Promise<number> {
    return this.affected(
      `DELETE FROM mail_outbox WHERE id IN (
         SELECT id FROM mail_outbox
          WHERE status = 'sent' AND sent_at < now() - make_interval(days => $1)
          LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [retentionDays, limit],
    );
  }

  async tableExists(table: string): Promise<boolean> {
    const rows = (await this.runner.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [table])) as {
      present: boolean;
    }[];
    return rows[0]?.present === true;
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
