// docs/operations.md, "When a dependency fails": PostgreSQL hanging (connections open, nothing answers) has
// the same bounds as PostgreSQL gone. Every request is answered within 10 s, whatever it was doing
// (waiting for a query, inside a transaction whose COMMIT never answers, waiting for a pooled
// connection), with a 503 problem and Retry-After; readiness turns 503 within 5 s while liveness
// stays 200; and everything works again within 10 s of the database answering again. The app's
// PostgreSQL link runs through a TCP proxy that swallows traffic (freeze / freezeOn).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Public } from '../../src/common/decorators/public.decorator';
import { ErrorCode } from '../../src/common/errors/app-error';
import { toAppError } from '../../src/common/errors/to-app-error';
import { REQUEST_DEADLINE_MS } from '../../src/common/lifecycle/request-deadline';
import { currentRequestContext, holdResponse } from '../../src/common/request-context';
import { GOOD_PASSWORD, login, registerAndLogin, registerUser, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import type { HttpResponse } from '../utils/http';
import { eventually } from '../utils/eventually';
import { behindProxy } from '../utils/proxied-app';

/** Waits (through eventually()) until `probe` holds; returns how long that took, in ms. */
async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  await eventually(probe, { what, timeoutMs, intervalMs: 100 });
  return Date.now() - started;
}

const NEVER = '0 0 1 1 *'; // keeps the scheduled cleanup out of the way
const BOUND_MS = 10_000;

/** Sends a request and returns its answer with how long it took. */
async function timed(request: () => Promise<HttpResponse>): Promise<{ res: HttpResponse; ms: number }> {
  const started = Date.now();
  const res = await request();
  return { res, ms: Date.now() - started };
}

/** The contract's answer to a request the database could not serve: 503 problem, Retry-After, in time. */
function assertUnavailable(what: string, { res, ms }: { res: HttpResponse; ms: number }): void {
  assert.equal(res.status, 503, `${what}: ${res.status} ${res.text}`);
  assert.equal(res.body.code, 'SERVICE_UNAVAILABLE', `${what}: ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/, what);
  assert.ok(Number(res.headers.get('retry-after')) >= 1, `${what}: Retry-After is set`);
  assert.ok(ms < BOUND_MS, `${what}: answered within 10 s (took ${ms} ms)`);
}

describe('PostgreSQL hanging: every request answered within 10 s', () => {
  const env = behindProxy();

  it('answers 503 to each database path, keeps liveness up, turns readiness 503 within 5 s, and recovers', async (ctx) => {
    const { api, root } = env.t;
    const forLogin = await registerUser(api);
    const forRefresh = await registerAndLogin(api);
    // Logged in but never used: the token's state is not cached, so /users/me must ask PostgreSQL.
    const cold = await registerAndLogin(api);

    env.proxy.freeze();
    const frozenAt = Date.now();
    const readiness = waitFor('readiness 503 while PostgreSQL hangs', 5000, async () => {
      return (await root.get('/health/readiness')).status === 503;
    });
    const answers = await Promise.all([
      timed(() => api.post('/auth/register', { email: uniqueEmail('hang'), password: GOOD_PASSWORD })),
      timed(() => api.post('/auth/login', { email: forLogin.email, password: forLogin.password })),
      timed(() => api.post('/auth/refresh', { refreshToken: forRefresh.refreshToken })),
      timed(() => api.get('/users/me', { token: cold.accessToken })),
      timed(() => api.post('/auth/password/forgot', { email: forLogin.email })),
      timed(() => root.get('/health/liveness')),
    ]);
    const readyAfter = await readiness;
    ctx.diagnostic(`readiness 503 after ${readyAfter} ms`);
    ctx.diagnostic(`answers: ${answers.map((a) => `${a.res.status} in ${a.ms} ms`).join(', ')}`);
    const [register, loginAnswer, refresh, me, forgot, liveness] = answers;
    assertUnavailable('register', register);
    assertUnavailable('login', loginAnswer);
    assertUnavailable('refresh', refresh);
    assertUnavailable('/users/me with a cold cache', me);
    assertUnavailable('forgot-password', forgot);
    assert.equal(liveness.res.status, 200, 'liveness stays 200');
    assert.ok(liveness.ms < 1000, `liveness answered at once (${liveness.ms} ms)`);
    assert.ok(readyAfter < 5000 && Date.now() - frozenAt < 2 * BOUND_MS);
    assert.equal((await root.get('/health/liveness')).status, 200);

    env.proxy.restore();
    const back = await waitFor('login works again after the database answers again', BOUND_MS, async () => {
      return (await api.post('/auth/login', { email: forLogin.email, password: forLogin.password })).status === 200;
    });
    ctx.diagnostic(`login 200 again ${back} ms after the link came back`);
    assert.equal((await api.get('/users/me', { token: cold.accessToken })).status, 200);
    assert.equal((await root.get('/health/readiness')).status, 200);
  });

  it('answers 503 within 10 s when the COMMIT of a password change never answers, then recovers', async (ctx) => {
    const { api } = env.t;
    const user = await registerAndLogin(api);
    // Warm the token's state so that the request reaches the transaction.
    assert.equal((await api.get('/users/me', { token: user.accessToken })).status, 200);

    env.proxy.freezeOn('COMMIT');
    const change = await timed(() =>
      api.post(
        '/auth/password/change',
        { currentPassword: user.password, newPassword: `${GOOD_PASSWORD} changed` },
        { token: user.accessToken },
      ),
    );
    ctx.diagnostic(`password change answered ${change.res.status} after ${change.ms} ms`);
    assertUnavailable('password change with a hanging COMMIT', change);

    env.proxy.restore();
    // The COMMIT never reached the server: the old password still works once the link is back.
    const back = await waitFor('login works again', BOUND_MS, async () => {
      return (await api.post('/auth/login', { email: user.email, password: user.password })).status === 200;
    });
    ctx.diagnostic(`login 200 again ${back} ms after the link came back`);
  });

  it('answers 503 within 10 s when the COMMIT of a registration never answers', async () => {
    const { api } = env.t;
    env.proxy.freezeOn('COMMIT');
    const register = await timed(() =>
      api.post('/auth/register', { email: uniqueEmail('commit'), password: GOOD_PASSWORD }),
    );
    assertUnavailable('register with a hanging COMMIT', register);
    env.proxy.restore();
    await waitFor('register works again', BOUND_MS, async () => {
      const res = await api.post('/auth/register', { email: uniqueEmail('back'), password: GOOD_PASSWORD });
      return res.status === 201;
    });
  });
});

describe('PostgreSQL hanging with the pool exhausted', () => {
  const env = behindProxy({ DB_POOL_MAX: '2' });

  it('answers 503 within 10 s to a request waiting for a pooled connection', async (ctx) => {
    const { api } = env.t;
    const users = await Promise.all([registerUser(api), registerUser(api), registerUser(api)]);

    env.proxy.freeze();
    // Two logins take the pool's two connections into the black hole; the third waits for one.
    const holders = users
      .slice(0, 2)
      .map((u) => timed(() => api.post('/auth/login', { email: u.email, password: u.password })));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const waiting = await timed(() => api.post('/auth/login', { email: users[2].email, password: users[2].password }));
    ctx.diagnostic(`waiting request answered ${waiting.res.status} after ${waiting.ms} ms`);
    assertUnavailable('a request waiting for a pooled connection', waiting);
    for (const [i, answer] of (await Promise.all(holders)).entries()) assertUnavailable(`holder ${i}`, answer);

    env.proxy.restore();
    await waitFor('login works again', BOUND_MS, async () => {
      return await login(api, users[2]).then(
        () => true,
        () => false,
      );
    });
  });
});

/** Routes that answer too late or never, for the last-resort deadline. */
@Public()
@Controller('test-hang')
class HangingController {
  static lateAnswered = false;

  @Get()
  hang(): Promise<never> {
    return new Promise(() => undefined);
  }

  /** Answers (200, then a throw) just after the deadline has already answered for it. */
  @Get('late')
  async late(): Promise<{ late: true }> {
    await new Promise((resolve) => setTimeout(resolve, REQUEST_DEADLINE_MS + 300));
    HangingController.lateAnswered = true;
    return { late: true };
  }

  /** Answers a second before the deadline, with durable work that never settles holding the response. */
  @Get('held')
  async held(): Promise<{ held: true }> {
    await new Promise((resolve) => setTimeout(resolve, REQUEST_DEADLINE_MS - 1000));
    const context = currentRequestContext();
    if (context) holdResponse(context, new Promise<void>(() => undefined));
    return { held: true };
  }
}

@Module({ controllers: [HangingController] })
class HangingModule {}

describe('the server-side bounds of every session', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { TOKEN_CLEANUP_CRON: NEVER } });
  });
  after(async () => t?.close());

  it('sets statement, lock and idle-in-transaction timeouts on the connections the app uses', async () => {
    const db = t.app.get(DataSource);
    const [row] = (await db.query(
      `SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock,
              current_setting('idle_in_transaction_session_timeout') AS idle`,
    )) as { statement: string; lock: string; idle: string }[];
    assert.deepEqual(row, { statement: '4s', lock: '2s', idle: '10s' });
    // The server cancels a statement that runs too long, and the client is told 503, not 500.
    const slow = await db.query('SELECT pg_sleep(6)').then(
      () => assert.fail('pg_sleep(6) outlived statement_timeout'),
      (error: unknown) => error,
    );
    assert.match((slow as Error).message, /statement timeout/);
    const mapped = toAppError(slow);
    assert.equal(mapped.code, ErrorCode.ServiceUnavailable);
    assert.ok(mapped.retryAfter, 'with Retry-After');
  });
});

describe('the last-resort request deadline', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { TOKEN_CLEANUP_CRON: NEVER }, imports: [HangingModule] });
  });
  after(async () => t?.close());

  it('answers 503 with Retry-After within 10 s when a handler never answers or answers too late', async (ctx) => {
    const [never, late] = await Promise.all([
      timed(() => t.api.get('/test-hang')),
      timed(() => t.api.get('/test-hang/late')),
    ]);
    ctx.diagnostic(
      `hanging routes answered ${never.res.status} after ${never.ms} ms, ${late.res.status} after ${late.ms} ms`,
    );
    assertUnavailable('a handler that never answers', never);
    assertUnavailable('a handler that answers after the deadline', late);
    // The late handler's own answer, when it comes, is dropped: the process keeps serving.
    await waitFor('the late handler finished', 2000, async () => HangingController.lateAnswered);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await t.root.get('/health/liveness')).status, 200);
  });
});
