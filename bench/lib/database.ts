// The bench's own databases: a fresh one per server start on the PostgreSQL of DATABASE_URL (each
// dropped after its phase), or, with no DATABASE_URL, on the embedded PostgreSQL the service uses.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { ROOT } from './processes';

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Where the bench's databases live: one fresh database per server start, dropped after it. */
export interface BenchDatabaseServer {
  description: string;
  create(name: string): Promise<BenchDatabase>;
  /** Drops what is left and stops an embedded server. */
  close(): Promise<void>;
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

function databaseServer(serverUrl: string, description: string, stop: () => Promise<void>): BenchDatabaseServer {
  const maintenance = new URL(serverUrl);
  maintenance.pathname = '/postgres';
  const live = new Set<string>();
  const dropDatabase = async (name: string): Promise<void> => {
    await admin(maintenance.toString(), (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    live.delete(name);
  };
  return {
    description,
    async create(suffix) {
      const name = `latch_bench_${process.pid}_${suffix}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
      await admin(maintenance.toString(), async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.query(`CREATE DATABASE ${name}`);
      });
      live.add(name);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return { url: url.toString(), drop: () => dropDatabase(name) };
    },
    async close() {
      for (const name of [...live]) await dropDatabase(name);
      await stop();
    },
  };
}

/**
 * The PostgreSQL of DATABASE_URL (databases `latch_bench_<pid>_<suffix>` on it), or, with no
 * DATABASE_URL, the embedded PostgreSQL the service itself would use, in a directory of its own.
 */
export async function openDatabaseServer(databaseUrl: string | undefined): Promise<BenchDatabaseServer> {
  if (databaseUrl) {
    const host = new URL(databaseUrl).host;
    return databaseServer(databaseUrl, `PostgreSQL at ${host} (DATABASE_URL)`, async () => undefined);
  }
  const dataDir = join(ROOT, '.data', `bench-${process.pid}`);
  const embedded = await startEmbeddedPostgres({ dataDir, ephemeral: true });
  return databaseServer(embedded.url, 'embedded PostgreSQL (no DATABASE_URL)', async () => {
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
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
