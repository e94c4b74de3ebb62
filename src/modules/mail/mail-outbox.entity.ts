import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** The kinds of mail Latch sends; each names its template and the X-Latch-Template header. */
export type MailTemplateName =
  | 'reset-password'
  | 'password-changed'
  | 'verify-email'
  | 'account-approved'
  | 'session-revoked'
  | 'new-device'
  | 'mfa-enabled'
  | 'mfa-disabled'
  | 'recovery-code-used';

export type MailStatus = 'pending' | 'sent' | 'failed';

/** Non-secret values a template shows (times, client address, user agent). */
export type MailData = Record<string, string | null>;

@Entity({ name: 'mail_outbox' })
export class MailOutboxEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 32 })
  template: MailTemplateName;

  @Column({ type: 'varchar', length: 254 })
  recipient: string;

  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @Column({ type: 'jsonb', default: {} })
  data: MailData;

  @Column({ type: 'text', nullable: true, select: false })
  secret: string | null;

  @Column({ name: 'dedupe_key', type: 'varchar', length: 200, nullable: true })
  dedupeKey: string | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: MailStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'next_attempt_at', type: 'timestamptz' })
  nextAttemptAt: Date;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;
}
