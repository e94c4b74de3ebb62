// REFRESH_IDLE_TTL: a session not refreshed in time ends, checked inside the rotation statement.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { registerAndLogin } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';

const IDLE = 2;

describe('refresh idle timeout', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { REFRESH_IDLE_TTL: String(IDLE) } });
  });
  after(() => t.close());

  it('tells the nearer limit and keeps a session that refreshes in time', async () => {
    const user = await registerAndLogin(t.api);
    const first = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(first.status, 200);
    assert.ok(first.body.refreshExpiresIn <= IDLE, `refreshExpiresIn ${first.body.refreshExpiresIn}`);
    assert.ok(first.body.expiresIn <= IDLE, 'the access token does not outlive the idle limit');
    const second = await t.api.post('/auth/refresh', { refreshToken: first.body.refreshToken });
    assert.equal(second.status, 200);
  });

  it('refuses a session idle past REFRESH_IDLE_TTL with the same 401 as an expired one', async () => {
    const user = await registerAndLogin(t.api);
    await sleep(IDLE * 1000 + 500); // the idle window itself must pass
    const res = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'INVALID_REFRESH_TOKEN');
    const unknown = await t.api.post('/auth/refresh', { refreshToken: 'x'.repeat(43) });
    assert.equal(unknown.body.code, res.body.code);
    assert.equal(unknown.body.detail, res.body.detail);
  });
});
