// mail_outbox access. Claiming is one statement (UPDATE of a row picked FOR UPDATE SKIP LOCKED) that
// also pushes next_attempt_at forward as a lease, so instances never take the same message at once
// and a message whose sender died becomes due again when the lease runs out. Only the mail module
// touches this table; others ask MailOutbox (backlog, retention).
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { ReadReplicas } from '../../database/read-replicas';
import { deleteBatch, row, rows } from '../../database/sql';
import type { MailData, MailOutboxEntity, MailTemplateName } from './mail-outbox.entity';

export interface NewMail {
  template: MailTemplateName;
  to: string;
  userId?: string | null;
  data?: MailData;
  /** The one-time token a link carries; MailService stores it sealed, until the message is sent or parked. */
  secret?: string | null;
  /** At most one message per key is ever queued (for notices an event may trigger twice). */
  dedupeKey?: string | null;
  /** The row's id, when something (the sealed secret) must be bound to it before the insert. */
  id?: string;
}

export type ClaimedMail = Pick<MailOutboxEntity, 'id' | 'template' | 'recipient' | 'data' | 'secret' | 'createdAt'> & {
  /** The attempt this claim is; it fences the outcome update against a later claim of the same row. */
  attempt: number;
};

export interface MailBacklog {
  /** Messages waiting for delivery (including retries). */
  pending: number;
  /** Messages parked after their last attempt. */
  failed: number;
  /** When the oldest pending message was queued; null when none waits. */
  oldestPendingAt: Date | null;
}

@Injectable()
export class MailOutboxRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly replicas: ReadReplicas,
  ) {}

  /** Inserts a message through the caller's transaction; false when its dedupe key was already queued. */
  async insert(manager: EntityManager, mail: NewMail): Promise<boolean> {
    const inserted = await rows<MailOutboxEntity, 'id'>(
      manager,
      `INSERT INTO mail_outbox (template, recipient, user_id, data, secret, dedupe_key, id)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
       RETURNING id`,
      [
        mail.template,
        mail.to,
        mail.userId ?? null,
        JSON.stringify(mail.data ?? {}),
        mail.secret ?? null,
        mail.dedupeKey ?? null,
        mail.id ?? randomUUID(),
      ],
    );
    return inserted.length > 0;
  }

  /** Takes the next due message for this instance, or null when none is due. */
  async claimNext(leaseSeconds: number): Promise<ClaimedMail | null> {
    const claimed = await row<MailOutboxEntity, Exclude<keyof ClaimedMail, 'attempt'> | 'attempts'>(
      this.db,
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
    if (!claimed) return null;
    const { attempts, ...message } = claimed;
    return { ...message, attempt: attempts };
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
    const failed = await row<MailOutboxEntity, 'status'>(
      this.db,
      `WITH failed AS (
         UPDATE mail_outbox
            SET last_error = $3,
                status = CASE WHEN attempts >= $5 THEN 'failed' ELSE 'pending' END,
                secret = CASE WHEN attempts >= $5 THEN NULL ELSE secret END, -- a parked message keeps no token
                next_attempt_at = now() + make_interval(secs => $4)
          WHERE id = $1 AND attempts = $2 AND status = 'pending'
          RETURNING status
       )
       SELECT status FROM failed`,
      [id, attempt, error.slice(0, 1000), retryInSeconds, maxAttempts],
    );
    return failed?.status === 'failed' ? 'failed' : 'retry';
  }

  /**
   * The user's tokens of this template are spent (or void): forgets every one the outbox still holds,
   * and parks the messages not yet sent, whose links could only fail.
   */
  async forgetTokens(manager: EntityManager, userId: string, template: MailTemplateName): Promise<void> {
    await manager.query(
      `UPDATE mail_outbox
          SET secret = NULL,
              status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
              last_error = CASE WHEN status = 'pending' THEN $3 ELSE last_error END
        WHERE user_id = $1 AND template = $2 AND secret IS NOT NULL`,
      [userId, template, 'not sent: its link was used or replaced before delivery'],
    );
  }

  /** Seconds until the next pending message is due (0 when one is due now), or null when none waits. */
  async secondsUntilNextDue(): Promise<number | null> {
    // Not GREATEST(0, …) in SQL: GREATEST skips NULLs, so an empty outbox read as "due now" and the
    // dispatcher polled every 50 ms (about 90 round trips per second on an idle service).
    const due = await row<{ wait: number | null }, 'wait'>(
      this.db,
      `SELECT EXTRACT(EPOCH FROM (min(next_attempt_at) - now()))::float8 AS wait
         FROM mail_outbox WHERE status = 'pending'`,
    );
    const wait = due?.wait ?? null;
    return wait === null ? null : Math.max(0, wait);
  }

  /** Counts of pending and failed messages and the age of the oldest pending one, in one statement. */
  async backlog(): Promise<MailBacklog> {
    // Lag-tolerant (metrics and readiness): from a read replica when there is one.
    const counted = await this.replicas.read((db) =>
      row<MailBacklog, keyof MailBacklog>(
        db,
        // One subquery per status, so each is served by its partial index (sent rows can be many).
        `SELECT (SELECT count(*) FROM mail_outbox WHERE status = 'pending')::int AS pending,
              (SELECT count(*) FROM mail_outbox WHERE status = 'failed')::int AS failed,
              (SELECT min(created_at) FROM mail_outbox WHERE status = 'pending') AS oldest_pending_at`,
      ),
    );
    return counted ?? { pending: 0, failed: 0, oldestPendingAt: null };
  }

  /** One batch of delivered mail sent more than `days` ago; pending and failed messages always stay. */
  deleteSentOlderThan(days: number, limit: number): Promise<number> {
    return deleteBatch(
      this.db,
      'mail_outbox',
      `status = 'sent' AND sent_at < now() - make_interval(days => $1)`,
      [days],
      limit,
    );
  }
}
