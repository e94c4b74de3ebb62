// SIGTERM on a real child process (the compiled production entry point) under load: in-flight
// requests are answered, after-response work is finished, and the process exits 0 within 10 s.
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GOOD_PASSWORD, uniqueEmail } from '../factories/users';
import { TEST_JWT_SECRET } from '../utils/create-test-app';
import { createDatabase, dropDatabase, query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { Http } from '../utils/http';

const MAIN = join(__dirname, '..', '..', 'src', 'main.js');
const CONCURRENT_LOGINS = 24;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitUntilUp(api: Http, child: ChildProcess, output: () => string): Promise<void> {
  let exited = false;
  try {
    await eventually(
      async () => {
        exited = child.exitCode !== null;
        // A refused connection throws: not listening yet.
        return exited || (await api.get('/users/me')).status === 401;
      },
      { what: 'the service to answer', timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}:\n${output()}`, { cause: error });
  }
  if (exited) throw new Error(`the service exited early:\n${output()}`);
}

describe('shutdown on SIGTERM', () => {
  let database: { name: string; url: string };
  let dataDir: string;
  before(async () => {
    database = await createDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'latch-shutdown-'));
  });
  after(async () => {
    await dropDatabase(database.name);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes in-flight requests and their after-response work, then exits 0 within 10 s', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: database.url,
        DATA_DIR: dataDir,
        JWT_ACCESS_SECRET: TEST_JWT_SECRET,
        // Slow enough hashing that many logins are still in flight when SIGTERM arrives.
        BCRYPT_ROUNDS: '10',
        BCRYPT_CONCURRENCY: '2',
        RATE_LIMIT_ENABLED: 'false',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const api = new Http(`http://127.0.0.1:${port}/api/v1`);
      await waitUntilUp(api, child, () => output);
      const email = uniqueEmail('shutdown');
      const registered = await api.post('/auth/register', { email, password: GOOD_PASSWORD });
      assert.equal(registered.status, 201, registered.text);

      let answered = 0;
      let signalledAt = Infinity;
      const logins = Array.from({ length: CONCURRENT_LOGINS }, () =>
        api.post('/auth/login', { email, password: GOOD_PASSWORD }).then(
          (res) => {
            answered += 1;
            return { status: res.status, afterSignal: Date.now() > signalledAt };
          },
          (error: unknown) => ({ status: `failed: ${String((error as Error).cause ?? error)}`, afterSignal: true }),
        ),
      );
      // Once the first answer is in, the others have been sent and wait for bcrypt. The server is
      // then given a moment to read them, so that they are in flight (not unread) at SIGTERM.
      await eventually(() => answered > 0, { what: 'the first login answer', timeoutMs: 30_000, intervalMs: 5 });
      await sleep(200);
      assert.ok(answered < CONCURRENT_LOGINS, 'some logins are still in flight at SIGTERM');
      signalledAt = Date.now();
      child.kill('SIGTERM');

      const results = await Promise.all(logins);
      // Every request got an answer, none was cut off. A request the server had not read yet when
      // it began closing may be refused with 503; the others complete.
      const unanswered = results.filter(({ status }) => status !== 200 && status !== 503);
      assert.deepEqual(unanswered, [], output);
      const completedInFlight = results.filter((r) => r.status === 200 && r.afterSignal).length;
      assert.ok(completedInFlight >= 5, `only ${completedInFlight} in-flight logins completed after SIGTERM`);
      const [code, signal] = await exited;
      const took = Date.now() - signalledAt;
      assert.equal(signal, null, output);
      assert.equal(code, 0, output);
      assert.ok(took < 10_000, `shutdown took ${took} ms`);
      assert.doesNotMatch(output, /abandoned|longer than 10 s/);
      const succeeded = results.filter((r) => r.status === 200).length;

      // Every answered login left its audit record and its (after-response) last-login stamp.
      const [audit] = await query<{ count: string }>(
        database.url,
        `SELECT count(*) FROM auth_events WHERE type = 'auth.login.succeeded' AND user_id = $1`,
        [registered.body.id],
      );
      assert.equal(Number(audit.count), succeeded);
      const [user] = await query<{ last_login_at: Date | null }>(
        database.url,
        'SELECT last_login_at FROM users WHERE id = $1',
        [registered.body.id],
      );
      assert.ok(user.last_login_at, 'the last-login stamp was written before exit');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
