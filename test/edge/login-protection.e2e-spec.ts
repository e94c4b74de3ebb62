import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerUser, uniqueEmail } from '../factories/users';
import { createInstancesSharingRedis, createTestApp, SKIP_WITHOUT_REDIS, TestApp } from '../utils/create-test-app';
import type { Http, HttpResponse } from '../utils/http';
import { setTimeout as sleep } from 'node:timers/promises';

let address = 0;
/** Each attempt comes from another address (through the trusted local proxy): a stuffing botnet. */
function attempt(api: Http, email: string, password: string): Promise<HttpResponse> {
  address += 1;
  const from = `198.51.${Math.floor(address / 250)}.${(address % 250) + 1}`;
  return api.post('/auth/login', { email, password }, { headers: { 'x-forwarded-for': from } });
}

function retryAfter(res: HttpResponse): number {
  assert.equal(res.status, 429, res.text);
  assert.equal(res.body.code, 'RATE_LIMITED');
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  return Number(res.headers.get('retry-after'));
}

const ENV = { RATE_LIMIT_ENABLED: 'true', TRUST_PROXY: '127.0.0.1' };

describe('per-account sign-in protection', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: ENV });
  });
  after(() => t.close());

  it('slows an account down after 5 failures from many addresses, with growing waits, and a success resets it', async () => {
    const user = await registerUser(t.api);
    for (let i = 1; i <= 5; i++) assert.equal((await attempt(t.api, user.email, 'wrong password!')).status, 401);
    // Even the right password must wait now: the limiter cannot tell the owner from the attacker.
    const first = retryAfter(await attempt(t.api, user.email, user.password));
    assert.equal(first, 1);
    await sleep(first * 1000 + 50);
    assert.equal((await attempt(t.api, user.email, 'wrong password!')).status, 401);
    const second = retryAfter(await attempt(t.api, user.email.toUpperCase(), user.password));
    assert.equal(second, 2);
    await sleep(second * 1000 + 50);
    assert.equal((await attempt(t.api, user.email, user.password)).status, 200);
    // The count starts afresh: a few more failures are plain 401s again.
    for (let i = 1; i <= 3; i++) assert.equal((await attempt(t.api, user.email, 'wrong password!')).status, 401);
  });

  it('treats an address without an account exactly like an account', async () => {
    const known = await registerUser(t.api);
    const unknown = uniqueEmail('nobody');
    const answers = async (email: string) => {
      const failures = [];
      for (let i = 1; i <= 5; i++) failures.push(await attempt(t.api, email, 'wrong password!'));
      return { failures, refused: await attempt(t.api, email, 'wrong password!') };
    };
    const a = await answers(known.email);
    const b = await answers(unknown);
    assert.deepEqual(
      a.failures.map((r) => [r.status, r.body]),
      b.failures.map((r) => [r.status, r.body]),
    );
    assert.equal(retryAfter(a.refused), retryAfter(b.refused));
    assert.deepEqual(a.refused.body, b.refused.body);
    // The OAuth password grant counts the same way and answers the refusal as problem+json too.
    const token = await t.api.request('POST', '/auth/token', {
      form: { grant_type: 'password', username: unknown, password: 'wrong password!' },
      headers: { 'x-forwarded-for': '192.0.2.200' },
    });
    assert.ok(retryAfter(token) >= 1);
  });
});

describe('per-account sign-in protection across instances', () => {
  it('shares the failure count through Redis', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const [a, b] = await createInstancesSharingRedis(ENV);
    try {
      const user = await registerUser(a.api);
      for (const api of [a.api, b.api, a.api, b.api, a.api]) {
        assert.equal((await attempt(api, user.email, 'wrong password!')).status, 401);
      }
      assert.equal(retryAfter(await attempt(b.api, user.email, user.password)), 1);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
