import type { MigrationInterface, QueryRunner } from 'typeorm';

// Users, refresh sessions (with the history that reuse detection reads), and one-time tokens.
// Each index names the query it serves; docs/data.md lists them with their EXPLAIN plans.
export class InitialSchema1763700000000 implements MigrationInterface {
  name = 'InitialSchema1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email varchar(254) NOT NULL,
        username varchar(32),
        display_name varchar(100),
        password_hash varchar(100) NOT NULL,
        roles text[] NOT NULL DEFAULT '{user}',
        status varchar(20) NOT NULL DEFAULT 'active'
          CHECK (status IN ('active', 'pending_approval', 'disabled')),
        email_verified boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        last_login_at timestamptz
      )`);
    // login and register: WHERE lower(email) = lower($1)
    await q.query(`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))`);
    // OAuth password grant by username, and the USERNAME_TAKEN check
    await q.query(`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`);
    // admin listing filtered by status, newest first
    await q.query(`CREATE INDEX users_status_created_idx ON users (status, created_at DESC)`);

    await q.query(`
      CREATE TABLE refresh_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        token_hash bytea NOT NULL,
        previous_token_hash bytea,
        rotated_at timestamptz,
        grace_ciphertext bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason varchar(32),
        user_agent varchar(512),
        ip varchar(64)
      )`);
    // refresh rotation: UPDATE ... WHERE token_hash = $1
    await q.query(`CREATE UNIQUE INDEX refresh_sessions_token_hash_key ON refresh_sessions (token_hash)`);
    // grace window and reuse detection: WHERE previous_token_hash = $1
    await q.query(
      `CREATE INDEX refresh_sessions_previous_hash_idx ON refresh_sessions (previous_token_hash)
       WHERE previous_token_hash IS NOT NULL`,
    );
    // session listing, logout-all, disable: WHERE user_id = $1 AND revoked_at IS NULL
    await q.query(`CREATE INDEX refresh_sessions_user_revoked_idx ON refresh_sessions (user_id, revoked_at)`);
    // cleanup of expired live sessions
    await q.query(
      `CREATE INDEX refresh_sessions_live_expiry_idx ON refresh_sessions (expires_at) WHERE revoked_at IS NULL`,
    );
    // cleanup of revoked sessions past retention
    await q.query(
      `CREATE INDEX refresh_sessions_revoked_at_idx ON refresh_sessions (revoked_at) WHERE revoked_at IS NOT NULL`,
    );

    // Every refresh token a session has replaced, so that any old token presented again is recognised as theft.
    await q.query(`
      CREATE TABLE refresh_token_history (
        token_hash bytea PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES refresh_sessions (id) ON DELETE CASCADE,
        replaced_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX refresh_token_history_session_idx ON refresh_token_history (session_id)`);

    await q.query(`
      CREATE TABLE one_time_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        purpose varchar(32) NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
        token_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`);
    // redeeming a token: WHERE token_hash = $1
    await q.query(`CREATE UNIQUE INDEX one_time_tokens_token_hash_key ON one_time_tokens (token_hash)`);
    // "a newer token voids older ones": WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL
    await q.query(
      `CREATE INDEX one_time_tokens_user_purpose_idx ON one_time_tokens (user_id, purpose) WHERE used_at IS NULL`,
    );
    // cleanup of spent and expired tokens
    await q.query(`CREATE INDEX one_time_tokens_expires_idx ON one_time_tokens (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE one_time_tokens`);
    await q.query(`DROP TABLE refresh_token_history`);
    await q.query(`DROP TABLE refresh_sessions`);
    await q.query(`DROP TABLE users`);
  }
}
