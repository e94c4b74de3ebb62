import type { MigrationInterface, QueryRunner } from 'typeorm';

// API keys (docs/security.md, "API keys"): only a keyed hash of the key is kept (HMAC-SHA-256 under
// a key derived from ENCRYPTION_KEY), unique and looked up by equality; `prefix` is the key's first
// characters, shown in lists. Deleting a key deletes its row (its audit records stay).
export class ApiKeys1763700007000 implements MigrationInterface {
  name = 'ApiKeys1763700007000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        prefix varchar(16) NOT NULL,
        key_hash varchar(64) NOT NULL,
        scopes text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX api_keys_key_hash_idx ON api_keys (key_hash)`);
    await q.query(`CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_keys`);
  }
}
