import type { MigrationInterface, QueryRunner } from 'typeorm';

// The mail outbox (docs/mail.md), plus the two small tables the mail flows need: the per-address
// forgot-password and resend quota and the devices each user has signed in from (for the new-device notice).
export class MailOutbox1763700001000 implements MigrationInterface {
  name = 'MailOutbox1763700001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mail_outbox (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        template varchar(32) NOT NULL,
        recipient varchar(254) NOT NULL,
        user_id uuid REFERENCES users (id) ON DELETE CASCADE,
        data jsonb NOT NULL DEFAULT '{}',
        -- the one-time token a link carries; cleared as soon as the message is sent
        secret text,
        dedupe_key varchar(200),
        status varchar(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        -- when the message is next due; a claim pushes it forward, so it doubles as the claim's lease
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    // the dispatcher's claim: WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at
    await q.query(`CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE status = 'pending'`);
    // one notice per event (e.g. one session-revoked mail per session): INSERT ... ON CONFLICT DO NOTHING
    await q.query(
      `CREATE UNIQUE INDEX mail_outbox_dedupe_key ON mail_outbox (dedupe_key) WHERE dedupe_key IS NOT NULL`,
    );
    // operators looking at parked messages: WHERE status = 'failed' ORDER BY created_at
    await q.query(`CREATE INDEX mail_outbox_failed_idx ON mail_outbox (created_at) WHERE status = 'failed'`);

    // Mail requests a stranger can trigger (forgot-password, resend), per address (hashed), in
    // fixed one-hour windows.
    await q.query(`
      CREATE TABLE mail_request_quota (
        address_hash bytea PRIMARY KEY,
        window_start timestamptz NOT NULL,
        count integer NOT NULL
      )`);
    // cleanup of finished windows
    await q.query(`CREATE INDEX mail_request_quota_window_idx ON mail_request_quota (window_start)`);

    // Devices (hash of user agent and client address) a user has signed in from.
    await q.query(`
      CREATE TABLE known_devices (
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        device_hash bytea NOT NULL,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, device_hash)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE known_devices`);
    await q.query(`DROP TABLE mail_request_quota`);
    await q.query(`DROP TABLE mail_outbox`);
  }
}
