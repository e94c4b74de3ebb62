// What other modules may know of the outbox. mail_outbox belongs to the mail module: health and
// metrics read its backlog here, and the scheduled cleanup removes old sent mail through here.
import { Injectable } from '@nestjs/common';
import { SENT_RETENTION_DAYS } from './mail-dispatcher.service';
import { MailBacklog, MailOutboxRepository } from './mail-outbox.repository';

export type { MailBacklog } from './mail-outbox.repository';

/** A readiness probe or a metrics scrape must answer even when the database does not. */
export const BACKLOG_TIMEOUT_MS = 1000;

@Injectable()
export class MailOutbox {
  constructor(private readonly outbox: MailOutboxRepository) {}

  /** Pending and failed messages, and when the oldest pending one was queued; rejects after BACKLOG_TIMEOUT_MS. */
  async backlog(): Promise<MailBacklog> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the outbox did not answer in time')), BACKLOG_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.outbox.backlog(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Removes one batch (at most `limit`) of mail delivered more than SENT_RETENTION_DAYS ago; returns how many. */
  deleteSentPastRetention(limit: number): Promise<number> {
    return this.outbox.deleteSentOlderThan(SENT_RETENTION_DAYS, limit);
  }
}
