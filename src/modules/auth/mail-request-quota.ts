// The silent per-address quota on mail a stranger can trigger (forgot-password, verification
// resend): 3 per address per hour, counted in PostgreSQL so it holds across instances. The answer
// never changes; over the quota no mail is queued. Addresses are kept only as SHA-256 hashes.
import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { rows } from '../../database/sql';
import type { MailRequestQuotaEntity } from './mail-request-quota.entity';

export const MAIL_REQUESTS_PER_HOUR = 3;

export type MailRequestKind = 'password-reset' | 'verify-email';

@Injectable()
export class MailRequestQuota {
  private readonly logger = new Logger(MailRequestQuota.name);

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Counts one request for the address (known or not) and says whether it is within the quota. */
  async take(kind: MailRequestKind, address: string): Promise<boolean> {
    const key = createHash('sha256').update(`${kind}\n${address.toLowerCase()}`, 'utf8').digest();
    const [counted] = await rows<MailRequestQuotaEntity, 'count'>(
      this.db,
      `INSERT INTO mail_request_quota AS r (address_hash, window_start, count) VALUES ($1, now(), 1)
       ON CONFLICT (address_hash) DO UPDATE SET
         count = CASE WHEN r.window_start <= now() - interval '1 hour' THEN 1 ELSE r.count + 1 END,
         window_start = CASE WHEN r.window_start <= now() - interval '1 hour' THEN now() ELSE r.window_start END
       RETURNING count`,
      [key],
    );
    return counted.count <= MAIL_REQUESTS_PER_HOUR;
  }

  /** Forgets finished windows; any instance may run it, the delete is idempotent. */
  @Interval('mail-request-quota-cleanup', 15 * 60 * 1000)
  async cleanup(): Promise<void> {
    await this.db
      .query(`DELETE FROM mail_request_quota WHERE window_start <= now() - interval '1 hour'`)
      .catch((error: unknown) => this.logger.warn(`Quota cleanup failed: ${String(error)}`));
  }
}
