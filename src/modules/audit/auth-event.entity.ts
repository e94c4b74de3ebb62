// One row of the audit trail: what happened, to whom, from where, when, and how it ended.
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type AuthEventOutcome = 'success' | 'failure';

@Entity({ name: 'auth_events' })
export class AuthEventEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  /** The domain event name, e.g. `auth.login.failed`. */
  @Column({ type: 'varchar', length: 64 })
  type: string;

  @Column({ type: 'varchar', length: 16 })
  outcome: AuthEventOutcome;

  /** Why it failed or why sessions ended (`invalid_credentials`, `logout`, ...). */
  @Column({ type: 'varchar', length: 64, nullable: true })
  reason: string | null;

  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @Column({ name: 'session_id', type: 'uuid', nullable: true })
  sessionId: string | null;

  /** The admin who acted, for approve / disable / enable. */
  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;

  @Column({ type: 'jsonb', nullable: true })
  details: Record<string, unknown> | null;
}
