// One address's (hashed) count of stranger-triggered mail requests in its current one-hour window.
// The table is created by the mail-outbox migration but belongs to auth (MailRequestQuota).
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'mail_request_quota' })
export class MailRequestQuotaEntity {
  @PrimaryColumn({ name: 'address_hash', type: 'bytea' })
  addressHash: Buffer;

  @Column({ name: 'window_start', type: 'timestamptz' })
  windowStart: Date;

  @Column({ type: 'integer' })
  count: number;
}
