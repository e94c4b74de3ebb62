// mail_outbox access. Claiming is one statement (UPDATE of a row picked FOR UPDATE SKIP LOCKED) that
// also pushes next_attempt_at forward as a lease, so instances never take the same message at once
// and a message whose sender died becomes due again when the lease runs out. Statements that modify
// and return rows are wrapped as `WITH … SELECT`: TypeORM answers a bare UPDATE … RETURNING with
// [rows, count] rather than rows.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { MailData, MailTemplateName } from './mail-outbox.entity';

export interface NewMail {
  template: MailTemplateName;
  to: string;
  userId?: string | null;
  data?: MailData;
  /** The one-time token a link carries; kept only until the message is sent. */
  secret?: string | null;
  /** At most one message per key is ever queued (for notices an event may trigger twice). */
  dedupeKey?: string | null;
}

export interface ClaimedMail {
  id: string;
  template: MailTemplateName;
  recipient: string;
  data: MailData;
  secret: string | null;
  /** The attempt this claim is; it fences the outcome update against a later claim of the same row. */
  attempt: number;
  createdAt: Date;
}

@Injectable()
export class MailOutboxRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Inserts a message through the caller's transaction; false when its dedupe key was already queued. */
  async insert(manager: EntityManager, mail: NewMail): Promise<boolean> {
    const rows: { id: string }[] = await manager.query(
      `INSERT INTO mail_outbox (template, recipient, user_id, data, secret, dedupe_key)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
       RETURNING id`,
      [
        mail.template,
        mail.to,
        mail.userId ?? null,
        JSON.stringify(mail.data ?? {}),
        mail.secret ?? null,
        mail.dedupeKey ?? null,
      ],
    );
    return rows.length > 0;
  }

  /** Takes the next due message for this instance, or null when none is due. */
  async claimNext(leaseSeconds: number): Promise<ClaimedMail | null> {
    const rows: {
      id: string;
      template: MailTemplateName;
      recipient: string;
      data: MailData;
      secret: string | null;
      attempts: number;
      created_at: Date;
    }[] = await this.db.query(
      `WITH claimed AS (
         UPDATE mail_outbox
            SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $1)
          WHERE id = (SELECT id FROM mail_outbox
                       WHERE status = 'pending' AND next_attempt_at <= now()
                       ORDER BY next_attempt_at
                       LIMIT 1
                       FOR UPDATE SKIP LOCKED)
          RETURNING id, template, recipient, data, secret, attempts, created_at
       )
       SELECT * FROM claimed`,
      [leaseSeconds],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      template: row.template,
      recipient: row.recipient,
      data: row.data,
      secret: row.secret,
      attempt: row.attempts,
      createdAt: row.created_at,
    };
  }

  /**
   * Records delivery and forgets the token the message carried. Not fenced by the attempt: an SMTP
   * acceptance is a fact whichever claim got it (a later claim may have taken the row meanwhile).
   */
  async markSent(id: string): Promise<void> {
    await this.db.query(
      `UPDATE mail_outbox SET status = 'sent', sent_at = now(), secret = NULL, last_error = NULL
        WHERE id = $1 AND status <> 'sent'`,
      [id],
    );
  }

  /** Records a failed attempt: due again after the delay, or parked as failed once attempts run out. */
  async markAttemptFailed(
    id: string,
    attempt: number,
    error: string,
    retryInSeconds: number,
    maxAttempts: number,
  ): Promise<'retry' | 'failed'> {
    const rows: { status: 'pending' | 'failed' }[] = await this.db.query(
      `WITH failed AS (
         UPDATE mail_outbox
            SET last_error = $3,
                status = CASE WHEN attempts >= $5 THEN 'failed' ELSE 'pending' END,
                next_attempt_at = now() + make_interval(secs => $4)
          WHERE id = $1 AND attempts = $2 AND status = 'pending'
          RETURNING status
       )
       SELECT status FROM failed`,
      [id, attempt, error.slice(0, 1000), retryInSeconds, maxAttempts],
    );
    return rows[0]?.status === 'failed' ? 'failed' : 'retry';
  }

  /** Seconds until the next pending message is due (0 when one is due now), or null when none waits. */
  async secondsUntilNextDue(): Promise<number | null> {
    // Not GREATEST(0, …) in SQL: GREATEST skips NULLs, so an empty outbox read as "due now" and the
    // dispatcher polled every 50 ms (about 90 round trips per second on an idle service).
    const rows: { wait: number | null }[] = await this.db.query(
      `SELECT EXTRACT(EPOCH FROM (min(next_attempt_at) - now()))::float8 AS wait
         FROM mail_outbox WHERE status = 'pending'`,
    );
    const wait = rows[0]?.wait ?? null;
    return wait === null ? null : Math.max(0, wait);
  }
}
