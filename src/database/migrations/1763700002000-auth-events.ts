import type { MigrationInterface, QueryRunner } from 'typeorm';

// The audit trail: append-only, one row per domain event. No foreign keys on purpose: a record
// outlives the user or session it names.
export class AuthEvents1763700002000 implements MigrationInterface {
  name = 'AuthEvents1763700002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE auth_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        type varchar(64) NOT NULL,
        outcome varchar(16) NOT NULL CHECK (outcome IN ('success', 'failure')),
        reason varchar(64),
        user_id uuid,
        session_id uuid,
        actor_id uuid,
        ip varchar(64),
        user_agent varchar(512),
        occurred_at timestamptz NOT NULL,
        details jsonb
      )`);
    // a user's history, newest first: WHERE user_id = $1 ORDER BY occurred_at DESC
    await q.query(
      `CREATE INDEX auth_events_user_occurred_idx ON auth_events (user_id, occurred_at DESC) WHERE user_id IS NOT NULL`,
    );
    // time-range reads and retention: WHERE occurred_at < $1
    await q.query(`CREATE INDEX auth_events_occurred_idx ON auth_events (occurred_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE auth_events`);
  }
}
