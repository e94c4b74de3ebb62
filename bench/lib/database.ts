// The bench's own database: a fresh `latch_bench_<pid>` on the PostgreSQL of DATABASE_URL (dropped
// at the end), or, with no DATABASE_URL, the embedded PostgreSQL the service itself would use.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { ROOT } from './processes';

export interface BenchDatabase {
  url: string;
  description: string;
  drop(): Promise<void>;
}

async function admin<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, application_name: 'latch-bench' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function openBenchDatabase(databaseUrl: string | undefined): Promise<BenchDatabase> {
  if (databaseUrl) {
    const name = `latch_bench_${process.pid}`;
    const maintenance = new URL(databaseUrl);
    maintenance.pathname = '/postgres';
    const target = new URL(databaseUrl);
    target.pathname = `/${name}`;
    await admin(maintenance.toString(), async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${name}`);
    });
    return {
      url: target.toString(),
      description: `PostgreSQL at ${target.host} (DATABASE_URL), database ${name}`,
      drop: () =>
        admin(maintenance.toString(), (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
          () => undefined,
        ),
    };
  }
  const dataDir = join(ROOT, '.data', `bench-${process.pid}`);
  const embedded = await startEmbeddedPostgres({ dataDir, ephemeral: true });
  return {
    url: embedded.url,
    description: 'embedded PostgreSQL (no DATABASE_URL)',
    drop: async () => {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Copies the password hash of one account registered through the API to `count` more accounts.
 * Seeding by SQL keeps the run short (one bcrypt hash per cost instead of one per user), and the
 * hash was made by the service itself, at the cost under test, for the password the bench logs in
 * with, so every seeded login costs exactly what a real one does.
 */
export async function cloneAccounts(
  url: string,
  templateEmail: string,
  prefix: string,
  count: number,
): Promise<string[]> {
  return admin(url, async (client) => {
    await client.query(
      `INSERT INTO users (email, password_hash, status, email_verified)
       SELECT $2 || n || '@bench.example.com', u.password_hash, 'active', true
         FROM users u, generate_series(1, $3::int) AS n
        WHERE lower(u.email) = lower($1)`,
      [templateEmail, prefix, count],
    );
    return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}@bench.example.com`);
  });
}
