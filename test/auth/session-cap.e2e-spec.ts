// A user holds at most MAX_SESSIONS_PER_USER live sessions: a sign-in beyond it ends the oldest,
// like any revocation (docs/security.md, Sessions).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../utils/eventually';
import { login, registerUser } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';

describe('live sessions per user', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { MAX_SESSIONS_PER_USER: '2' } });
  });
  after(() => t.close());

  it('ends the oldest session when a new sign-in exceeds the cap', async () => {
    const user = await registerUser(t.api);
    const oldest = await login(t.api, user);
    const middle = await login(t.api, user);
    const newest = await login(t.api, user);

    const refused = await t.api.post('/auth/refresh', { refreshToken: oldest.refreshToken });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'INVALID_REFRESH_TOKEN');
    assert.equal((await t.api.get('/users/me', { token: oldest.accessToken })).status, 401);

    assert.equal((await t.api.post('/auth/refresh', { refreshToken: middle.refreshToken })).status, 200);
    const sessions = await t.api.get('/auth/sessions', { token: newest.accessToken });
    assert.equal(sessions.status, 200);
    assert.equal(sessions.body.length, 2);

    // Announced like any other revocation: audited with its reason.
    await eventually(
      async () => {
        const rows = await query<{ reason: string }>(
          t.databaseUrl,
          `SELECT reason FROM auth_events WHERE user_id = $1 AND type = 'auth.session.revoked'`,
          [user.id],
        );
        return rows.some((r) => r.reason === 'session_limit');
      },
      { what: 'an audited session_limit revocation', timeoutMs: 20_000, intervalMs: 100 },
    );
  });

  it('leaves other users alone', async () => {
    const one = await registerUser(t.api);
    const other = await registerUser(t.api);
    const kept = await login(t.api, other);
    for (let i = 0; i < 3; i++) await login(t.api, one);
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: kept.refreshToken })).status, 200);
  });
});
