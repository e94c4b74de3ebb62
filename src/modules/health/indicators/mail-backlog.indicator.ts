// The mail outbox backlog, reported and never fatal: an SMTP outage delays mail but must not take
// the pod out of the Service. A backlog whose oldest message waits longer than STALE_AFTER_SECONDS
// is shown as `degraded` (still 200), a hint that SMTP is unreachable.
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

const QUERY_TIMEOUT_MS = 1000;
const STALE_AFTER_SECONDS = 300;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

@Injectable()
export class MailBacklogIndicator {
  private outboxExists = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly health: HealthIndicatorService,
  ) {}

  async check() {
    const session = this.health.check('mail');
    try {
      const backlog = await within(this.backlog(), QUERY_TIMEOUT_MS);
      if (!backlog) return session.up({ outbox: false });
      const data = { pending: backlog.pending, failed: backlog.failed, oldestPendingSeconds: backlog.oldest };
      return backlog.oldest !== null && backlog.oldest > STALE_AFTER_SECONDS
        ? session.degraded({ ...data, message: 'Mail has been waiting for more than 5 minutes' })
        : session.up(data);
    } catch {
      return session.degraded({ pending: null, message: 'The outbox could not be read' });
    }
  }

  private async backlog(): Promise<{ pending: number; failed: number; oldest: number | null } | null> {
    if (!this.outboxExists) {
      const [row] = (await this.db.query(`SELECT to_regclass('mail_outbox') IS NOT NULL AS present`)) as {
        present: boolean;
      }[];
      if (!row?.present) return null;
      this.outboxExists = true;
    }
    const [row] = (await this.db.query(
      `SELECT (SELECT count(*) FROM mail_outbox WHERE status = 'pending')::int AS pending,
              (SELECT count(*) FROM mail_outbox WHERE status = 'failed')::int AS failed,
              (SELECT floor(EXTRACT(EPOCH FROM now() - min(created_at)))::int
                 FROM mail_outbox WHERE status = 'pending') AS oldest`,
    )) as { pending: number; failed: number; oldest: number | null }[];
    return row;
  }
}
