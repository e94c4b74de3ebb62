// The mail outbox backlog, reported and never fatal: an SMTP outage delays mail but must not take
// the pod out of the Service. A backlog whose oldest message waits longer than STALE_AFTER_SECONDS
// is shown as `degraded` (still 200), a hint that SMTP is unreachable.
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { MailOutbox } from '../../mail/mail-outbox.service';

const STALE_AFTER_SECONDS = 300;

@Injectable()
export class MailBacklogIndicator {
  constructor(
    private readonly outbox: MailOutbox,
    private readonly health: HealthIndicatorService,
  ) {}

  async check() {
    const session = this.health.check('mail');
    try {
      const backlog = await this.outbox.backlog();
      const oldest = backlog.oldestPendingAt
        ? Math.max(0, Math.floor((Date.now() - backlog.oldestPendingAt.getTime()) / 1000))
        : null;
      const data = { pending: backlog.pending, failed: backlog.failed, oldestPendingSeconds: oldest };
      return oldest !== null && oldest > STALE_AFTER_SECONDS
        ? session.degraded({ ...data, message: 'Mail has been waiting for more than 5 minutes' })
        : session.up(data);
    } catch {
      return session.degraded({ pending: null, message: 'The outbox could not be read' });
    }
  }
}
