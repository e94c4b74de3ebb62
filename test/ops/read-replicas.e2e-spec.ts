// Read replicas against a real streaming replica: the test starts a PostgreSQL primary of its own
// (initdb, configured for replication) and a hot standby made from it with `pg_basebackup -R`, each
// on a free port in a temporary directory, and stops and removes both at the end. Skips, saying
// why, when the PostgreSQL server binaries are not installed.
//
// Reads are counted where they arrive: in the replica's own statement log.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, login, registerAndLogin, registerUser, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';

const STEP_TIMEOUT_MS = 20_000;

/** The PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup), or why they cannot be used. */
function serverBinaries(): { bin: string; asPostgres: string[] } | string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions
    .map((version) => join(root, version, 'bin'))
    .find((dir) => ['initdb', 'pg_ctl', 'pg_basebackup'].every((tool) => existsSync(join(dir, tool))));
  if (!bin) return 'initdb, pg_ctl and pg_basebackup are not installed (/usr/lib/postgresql/<version>/bin)';
  if (process.getuid?.() !== 0) return { bin, asPostgres: [] };
  // initdb refuses to run as root: run the clusters as the postgres user.
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
    execFileSync('runuser', ['-u', 'postgres', '--', 'true'], { stdio: 'ignore' });
  } catch {
    return 'running as root without a postgres user (and runuser) to own the test clusters';
  }
  return { bin, asPostgres: ['runuser', '-u', 'postgres', '--'] };
}

const BINARIES = serverBinaries();
const SKIP = typeof BINARIES === 'string' ? BINARIES : false;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

class Cluster {
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }
}

describe('read replicas (DATABASE_READ_URLS) against a real streaming replica', { skip: SKIP }, () => {
  const { bin, asPostgres } = BINARIES as Exclude<typeof BINARIES, string>;
  let root: string;
  let primary: Cluster;
  let replica: Cluster;
  let t: TestApp | undefined;
  let admin: { email: string; password: string; id: string };
  let adminToken: string;

  const run = (tool: string, args: string[]): string => {
    const [command, ...prefix] = asPostgres.length ? asPostgres : [join(bin, tool)];
    const argv = asPostgres.length ? [...prefix, join(bin, tool), ...args] : args;
    return execFileSync(command, argv, { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const pgCtl = (cluster: Cluster, action: 'start' | 'stop') =>
    action === 'start'
      ? run('pg_ctl', ['-D', cluster.dir, '-l', `${cluster.dir}.log`, '-w', '-t', '30', 'start'])
      : run('pg_ctl', ['-D', cluster.dir, '-m', 'fast', '-w', '-t', '30', 'stop']);

  /**
   * Statements Latch ran on the replica that read `users` or `refresh_sessions`, counted in the
   * replica's statement log (log_statement = all, each line prefixed with its application_name:
   * Latch's pools say `latch`; this test's own queries and the lag check are not counted).
   */
  const replicaReads = (): number =>
    readFileSync(`${replica.dir}.log`, 'utf8')
      .split('\n')
      .filter((line) => /^latch\|.*(statement|execute [^:]*): .*\b(users|refresh_sessions)\b/.test(line)).length;
  const readiness = async () => (await t!.root.get('/health/readiness')).body as Record<string, any>;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'latch-replicas-'));
    chmodSync(root, 0o755);
    if (asPostgres.length) chownSync(root, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), 0);
    primary = new Cluster(join(root, 'primary'), await freePort());
    replica = new Cluster(join(root, 'replica'), await freePort());
    run('initdb', ['-D', primary.dir, '-U', 'postgres', '--auth=trust', '--no-sync']);
    // initdb's pg_hba.conf already trusts local replication connections.
    appendFileSync(
      join(primary.dir, 'postgresql.conf'),
      [
        `port = ${primary.port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${root}'`,
        'wal_level = replica',
        'max_wal_senders = 5',
        'fsync = off',
        'shared_buffers = 16MB',
        '',
      ].join('\n'),
    );
    pgCtl(primary, 'start');
    run('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      replica.dir,
      '-R',
      '-X',
      'stream',
    ]);
    appendFileSync(
      join(replica.dir, 'postgresql.conf'),
      `port = ${replica.port}\nhot_standby = on\nlog_statement = 'all'\nlog_line_prefix = '%a|'\n`,
    );
    pgCtl(replica, 'start');
    admin = { id: '', email: uniqueEmail('admin'), password: GOOD_PASSWORD };
    t = await createTestApp({
      databaseUrl: primary.url,
      env: {
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
        DATABASE_READ_URLS: replica.url,
        // Large enough that a paused replay keeps the replica in rotation (the stale-replica case).
        DATABASE_READ_MAX_LAG_SECONDS: '3600',
        DATABASE_READ_CHECK_INTERVAL_SECONDS: '1',
      },
    });
    adminToken = (await login(t.api, admin)).accessToken;
  });

  after(async () => {
    try {
      await t?.close();
    } finally {
      for (const cluster of [replica, primary]) {
        if (cluster && existsSync(join(cluster.dir, 'postmaster.pid'))) {
          try {
            pgCtl(cluster, 'stop');
          } catch {
            // Already stopped.
          }
        }
      }
      if (root) rmSync(root, { recursive: true, force: true });
    }
  });

  it('sends the admin user list and lookups and the session list to the replica', async () => {
    const ready = await readiness();
    assert.equal(ready.status, 'ok');
    assert.equal(ready.info.replicas.configured, 1);
    assert.equal(ready.info.replicas.replicas[0].name, 'replica-0');
    assert.equal(ready.info.replicas.replicas[0].state, 'healthy');
    assert.equal(typeof ready.info.replicas.replicas[0].lagSeconds, 'number');
    const user = await registerAndLogin(t!.api);
    const before = replicaReads();
    await eventually(async () => (await t!.api.get(`/users/${user.id}`, { token: adminToken })).status === 200, {
      what: 'the new user to reach the replica',
      timeoutMs: STEP_TIMEOUT_MS,
    });
    const list = await t!.api.get('/users', { token: adminToken });
    assert.equal(list.status, 200);
    assert.ok(list.body.items.some((u: { id: string }) => u.id === user.id));
    assert.equal((await t!.api.get('/auth/sessions', { token: user.accessToken })).status, 200);
    await eventually(async () => replicaReads() >= before + 3, {
      what: 'the reads to be counted on the replica',
      timeoutMs: STEP_TIMEOUT_MS,
    });
    const metrics = (await t!.root.get('/metrics')).text;
    assert.match(metrics, /latch_db_reads_total\{target="replica"\} [1-9]/);
    assert.match(metrics, /latch_db_replica_healthy\{replica="replica-0"\} 1/);
    assert.match(metrics, /latch_db_replica_pool_connections\{replica="replica-0",state="idle"\}/);
    assert.match(metrics, /latch_db_pool_connections\{state="in_use"\}/);
  });

  it('never decides access on the replica: login, token checks, refresh and logout read the primary', async () => {
    const user = await registerUser(t!.api);
    await eventually(async () => (await t!.api.get(`/users/${user.id}`, { token: adminToken })).status === 200, {
      what: 'the new user to reach the replica',
      timeoutMs: STEP_TIMEOUT_MS,
    });
    const settled = replicaReads();
    const session = await login(t!.api, user);
    assert.equal((await t!.api.get('/users/me', { token: session.accessToken })).status, 200);
    const refreshed = await t!.api.post('/auth/refresh', { refreshToken: session.refreshToken });
    assert.equal(refreshed.status, 200);
    assert.equal((await t!.api.post('/auth/logout', {}, { token: refreshed.body.accessToken })).status, 204);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(replicaReads(), settled, 'no access decision read the replica');
  });

  it('refuses a session revoked on the primary while the replica lags behind', async () => {
    const user = await registerAndLogin(t!.api);
    const other = await login(t!.api, user);
    const [{ sid }] = await query<{ sid: string }>(
      primary.url,
      'SELECT id AS sid FROM refresh_sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1',
      [user.id],
    );
    await eventually(
      async () => (await query(replica.url, 'SELECT 1 FROM refresh_sessions WHERE id = $1', [sid])).length === 1,
      { what: 'the session to reach the replica', timeoutMs: STEP_TIMEOUT_MS },
    );
    await query(replica.url, 'SELECT pg_wal_replay_pause()');
    try {
      const revoked = await t!.api.delete(`/auth/sessions/${sid}`, { token: user.accessToken });
      assert.equal(revoked.status, 204);
      // The replica still holds it live…
      const [stale] = await query<{ revoked_at: Date | null }>(
        replica.url,
        'SELECT revoked_at FROM refresh_sessions WHERE id = $1',
        [sid],
      );
      assert.equal(stale.revoked_at, null);
      // …and still lists it (a lag-tolerant read), but nothing that decides access believes it.
      const listed = await t!.api.get('/auth/sessions', { token: user.accessToken });
      assert.ok(listed.body.some((s: { id: string }) => s.id === sid));
      assert.equal((await t!.api.get('/users/me', { token: other.accessToken })).status, 401);
      assert.equal((await t!.api.post('/auth/refresh', { refreshToken: other.refreshToken })).status, 401);
    } finally {
      await query(replica.url, 'SELECT pg_wal_replay_resume()');
    }
  });

  it('a stopped replica changes nothing a client can see, and the primary answers every read', async () => {
    const user = await registerUser(t!.api);
    pgCtl(replica, 'stop');
    try {
      // At once, before any check noticed: the failed read is answered by the primary.
      const got = await t!.api.get(`/users/${user.id}`, { token: adminToken });
      assert.equal(got.status, 200);
      assert.equal(got.body.email, user.email);
      const session = await login(t!.api, user);
      assert.equal((await t!.api.get('/users', { token: adminToken })).status, 200);
      assert.equal((await t!.api.get('/auth/sessions', { token: session.accessToken })).status, 200);
      assert.equal((await t!.api.post('/auth/refresh', { refreshToken: session.refreshToken })).status, 200);
      await eventually(async () => (await readiness()).info?.replicas?.replicas?.[0]?.state === 'down', {
        what: 'readiness to report the replica down',
        timeoutMs: STEP_TIMEOUT_MS,
      });
      const probe = await t!.root.get('/health/readiness');
      assert.equal(probe.status, 200, 'a replica never fails readiness');
      assert.equal(probe.body.info.database.status, 'up');
      assert.equal(probe.body.info.replicas.status, 'degraded');
      const metrics = (await t!.root.get('/metrics')).text;
      assert.match(metrics, /latch_db_replica_healthy\{replica="replica-0"\} 0/);
      assert.match(metrics, /latch_ready 1/);
    } finally {
      pgCtl(replica, 'start');
    }
    await eventually(async () => (await readiness()).info?.replicas?.replicas?.[0]?.state === 'healthy', {
      what: 'the restarted replica to be back in rotation',
      timeoutMs: STEP_TIMEOUT_MS,
    });
    const before = replicaReads();
    assert.equal((await t!.api.get('/users', { token: adminToken })).status, 200);
    await eventually(async () => replicaReads() > before, {
      what: 'reads to arrive at the recovered replica',
      timeoutMs: STEP_TIMEOUT_MS,
    });
  });

  it('skips a replica lagging more than DATABASE_READ_MAX_LAG_SECONDS until it catches up', async () => {
    await t!.close();
    t = undefined;
    t = await createTestApp({
      databaseUrl: primary.url,
      env: {
        DATABASE_READ_URLS: replica.url,
        DATABASE_READ_MAX_LAG_SECONDS: '1',
        DATABASE_READ_CHECK_INTERVAL_SECONDS: '1',
      },
    });
    const token = (await login(t.api, admin)).accessToken;
    await eventually(async () => (await readiness()).info?.replicas?.replicas?.[0]?.state === 'healthy', {
      what: 'the replica to be in rotation',
      timeoutMs: STEP_TIMEOUT_MS,
    });
    await query(replica.url, 'SELECT pg_wal_replay_pause()');
    try {
      // Writes the replica receives but does not replay, for longer than the bound.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await registerUser(t.api);
      await eventually(async () => (await readiness()).info?.replicas?.replicas?.[0]?.state === 'lagging', {
        what: 'readiness to report the replica lagging',
        timeoutMs: STEP_TIMEOUT_MS,
      });
      const fresh = await registerUser(t.api);
      const before = replicaReads();
      // Served by the primary: the user the replica has not replayed is there at once.
      const got = await t.api.get(`/users/${fresh.id}`, { token });
      assert.equal(got.status, 200);
      assert.equal((await t.root.get('/health/readiness')).status, 200);
      assert.equal(replicaReads(), before, 'no read went to the lagging replica');
    } finally {
      await query(replica.url, 'SELECT pg_wal_replay_resume()');
    }
    await eventually(async () => (await readiness()).info?.replicas?.replicas?.[0]?.state === 'healthy', {
      what: 'the replica to be back in rotation once it caught up',
      timeoutMs: STEP_TIMEOUT_MS,
    });
  });
});
