import type { MigrationInterface, QueryRunner } from 'typeorm';

// Forgot-password requests waiting to be turned into a reset token and a mail. The request path
// writes one row (the same work whether or not the address has an account) and answers; the row
// is consumed after the response, in the transaction that issues the token and queues the mail.
export class PasswordResetRequests1763700003000 implements MigrationInterface {
  name = 'PasswordResetRequests1763700003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE password_reset_requests (
        id bigserial PRIMARY KEY,
        address varchar(254) NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now()
      )`);
    // the sweep that picks up requests left behind by a crash: oldest first
    await q.query(`CREATE INDEX password_reset_requests_requested_idx ON password_reset_requests (requested_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE password_reset_requests`);
  }
}
