import type { MigrationInterface, QueryRunner } from 'typeorm';

// Multi-factor sign-in (docs/security.md, "Multi-factor"): one TOTP factor per user (secret sealed
// with ENCRYPTION_KEY), its recovery codes (hashed), and the short-lived challenges between a correct
// password and the second factor (hashed tokens). users.mfa_enabled says whether sign-in asks for it.
export class Mfa1763700005000 implements MigrationInterface {
  name = 'Mfa1763700005000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN mfa_enabled boolean NOT NULL DEFAULT false`);
    await q.query(`
      CREATE TABLE mfa_factors (
        user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        secret text NOT NULL,
        confirmed_at timestamptz,
        last_used_step bigint,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE recovery_codes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        code_hash varchar(64) NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // using a code: WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
    await q.query(`CREATE UNIQUE INDEX recovery_codes_user_hash_key ON recovery_codes (user_id, code_hash)`);
    await q.query(`
      CREATE TABLE mfa_challenges (
        token_hash varchar(64) PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        expires_at timestamptz NOT NULL,
        failures integer NOT NULL DEFAULT 0,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // sweeping stale challenges: WHERE expires_at < $1
    await q.query(`CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at)`);
    await q.query(`CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mfa_challenges`);
    await q.query(`DROP TABLE recovery_codes`);
    await q.query(`DROP TABLE mfa_factors`);
    await q.query(`ALTER TABLE users DROP COLUMN mfa_enabled`);
  }
}
