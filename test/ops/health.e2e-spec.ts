import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SECOND_EVICTION_DELAY_MS } from '../../src/modules/cache/state-cache.service';
import { registerAndLogin, registerUser } from '../factories/users';
import { eventually } from '../utils/eventually';
import { behindProxy } from '../utils/proxied-app';

/**
 * StateCache repeats every eviction SECOND_EVICTION_DELAY_MS after the first. This app has no
 * Redis, so no invalidation channel announces it: twice that delay is waited out.
 */
const REPEATED_EVICTION_DONE_MS = 2 * SECOND_EVICTION_DELAY_MS;

describe('health probes and a PostgreSQL outage', () => {
  const env = behindProxy();

  function assertNoSecrets(text: string): void {
    const url = new URL(env.database.url);
    for (const secret of [
      env.database.url,
      `:${url.port}`,
      `:${env.proxy.port}`,
      env.database.name,
      'postgres://',
      'redis://',
    ]) {
      assert.ok(!text.includes(secret), `health output leaks ${secret}`);
    }
    if (url.password) assert.ok(!text.includes(url.password), 'health output leaks the password');
  }

  it('answers liveness from the process alone and readiness in terminus format', async () => {
    const live = await env.t.root.get('/health/liveness');
    assert.equal(live.status, 200);
    assert.equal(live.body.status, 'ok');
    assert.equal(live.headers.get('cache-control'), 'no-store');

    const ready = await env.t.root.get('/health/readiness');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ok');
    assert.equal(ready.body.details.database.status, 'up');
    assert.equal(ready.body.details.redis.status, 'up');
    assert.equal(ready.body.details.redis.configured, false);
    assert.equal(ready.body.details.mail.status, 'up');
    assert.deepEqual(ready.body.error, {});
    assertNoSecrets(ready.text);
  });

  it('turns readiness 503 within 5 s of PostgreSQL going away, answers 503 quickly, and recovers by itself', async () => {
    const user = await registerAndLogin(env.t.api);
    const other = await registerUser(env.t.api);
    // Warm the cache for this token once the last-login stamp (a write, so an eviction, repeated
    // after SECOND_EVICTION_DELAY_MS) is done: the token must then be accepted without PostgreSQL.
    await eventually(
      async () => (await env.t.api.get('/users/me', { token: user.accessToken })).body.lastLoginAt !== null,
      { what: 'the last-login stamp' },
    );
    await sleep(REPEATED_EVICTION_DONE_MS);
    assert.equal((await env.t.api.get('/auth/verify', { token: user.accessToken })).status, 200);

    env.proxy.cut();
    await eventually(async () => (await env.t.root.get('/health/readiness')).status === 503, {
      what: 'readiness 503 after the cut',
    });
    const ready = await env.t.root.get('/health/readiness');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.status, 'error');
    assert.equal(ready.body.error.database.status, 'down');
    assert.ok(ready.body.details.redis, 'Redis is still reported');
    assertNoSecrets(ready.text);
    assert.equal((await env.t.root.get('/health/liveness')).status, 200);

    // Requests that need the database: a 503 problem with Retry-After, never a 500, never a hang.
    for (const request of [
      () => env.t.api.post('/auth/login', { email: other.email, password: other.password }),
      () => env.t.api.get('/auth/sessions', { token: user.accessToken }),
    ]) {
      const started = Date.now();
      const res = await request();
      assert.equal(res.status, 503, res.text);
      assert.equal(res.body.code, 'SERVICE_UNAVAILABLE');
      assert.ok(res.headers.get('retry-after'), 'Retry-After is set');
      assert.ok(Date.now() - started < 10_000, 'answered within 10 s');
      assertNoSecrets(res.text);
    }
    // A warm token needs no query at all.
    assert.equal((await env.t.api.get('/auth/verify', { token: user.accessToken })).status, 200);

    env.proxy.restore();
    await eventually(async () => (await env.t.root.get('/health/readiness')).status === 200, {
      what: 'readiness 200 after the database is back',
      timeoutMs: 10_000,
    });
    const login = await env.t.api.post('/auth/login', { email: other.email, password: other.password });
    assert.equal(login.status, 200);
    assert.equal((await env.t.api.get('/auth/sessions', { token: user.accessToken })).status, 200);
  });
});

describe('PostgreSQL hanging without an answer (half-open connections)', () => {
  const env = behindProxy();

  it('answers 503 within 10 s while queries hang, and recovers when the link is reset', async (ctx) => {
    const user = await registerUser(env.t.api);
    env.proxy.freeze();
    const frozen = Date.now();
    await eventually(async () => (await env.t.root.get('/health/readiness')).status === 503, {
      what: 'readiness 503 while frozen',
    });
    ctx.diagnostic(`readiness 503 after ${Date.now() - frozen} ms`);
    const started = Date.now();
    const res = await env.t.api.post('/auth/login', { email: user.email, password: user.password });
    const took = Date.now() - started;
    ctx.diagnostic(`login answered ${res.status} after ${took} ms`);
    assert.equal(res.status, 503, res.text);
    assert.equal(res.body.code, 'SERVICE_UNAVAILABLE');
    assert.ok(took < 10_000, `answered within 10 s (took ${took} ms)`);
    assert.equal((await env.t.root.get('/health/liveness')).status, 200);

    env.proxy.restore();
    const restored = Date.now();
    await eventually(async () => (await env.t.root.get('/health/readiness')).status === 200, {
      what: 'readiness 200 after the reset',
      timeoutMs: 10_000,
    });
    ctx.diagnostic(`readiness 200 again ${Date.now() - restored} ms after the link came back`);
    assert.equal((await env.t.api.post('/auth/login', { email: user.email, password: user.password })).status, 200);
  });
});
