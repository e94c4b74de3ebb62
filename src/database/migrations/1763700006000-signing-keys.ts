import type { MigrationInterface, QueryRunner } from 'typeorm';

// Managed access-token signing keys (docs/security.md, "Signing keys"). The private part is sealed
// with ENCRYPTION_KEY (SecretBox); the public JWK is stored in clear for the JWKS. A key's state
// follows from its times: published from created_at, signs from activates_at until the next key
// activates, published until its last token expired; revoked_at ends all of it at once.
export class SigningKeys1763700006000 implements MigrationInterface {
  name = 'SigningKeys1763700006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE signing_keys (
        kid varchar(64) PRIMARY KEY,
        alg varchar(16) NOT NULL,
        public_jwk jsonb NOT NULL,
        private_sealed text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        activates_at timestamptz NOT NULL,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX signing_keys_activates_idx ON signing_keys (activates_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE signing_keys`);
  }
}
