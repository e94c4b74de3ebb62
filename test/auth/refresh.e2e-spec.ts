import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { registerAndLogin } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';

/** A short grace window, so that the tests that need to be past it wait little. */
const GRACE_SECONDS = 1;
/** The window must be waited out: inside it the replaced token rightly gets the same pair again. */
const pastGraceWindow = () => sleep(GRACE_SECONDS * 1000 + 300);

describe('refresh rotation', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { REFRESH_REUSE_GRACE_SECONDS: String(GRACE_SECONDS) } });
  });
  after(() => t.close());

  it('rotates: the new pair works and the old refresh token is replaced', async () => {
    const user = await registerAndLogin(t.api);
    const res = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.notEqual(res.body.refreshToken, user.refreshToken);
    assert.notEqual(res.body.accessToken, user.accessToken);
    assert.equal(res.body.user.id, user.id);
    const me = await t.api.get('/users/me', { token: res.body.accessToken });
    assert.equal(me.status, 200);
    const next = await t.api.post('/auth/refresh', { refreshToken: res.body.refreshToken });
    assert.equal(next.status, 200);
  });

  it('stores refresh tokens only as hashes', async () => {
    const user = await registerAndLogin(t.api);
    const rows = await query<{ token_hash: Buffer }>(
      t.databaseUrl,
      `SELECT token_hash FROM refresh_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1`,
      [user.email],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].token_hash.length, 32);
    assert.ok(!rows[0].token_hash.toString('utf8').includes(user.refreshToken));
    assert.ok(!rows[0].token_hash.toString('base64url').includes(user.refreshToken));
  });

  it('returns the same new pair for the just-replaced token within the grace window', async () => {
    const user = await registerAndLogin(t.api);
    const first = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    const again = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(first.status, 200);
    assert.equal(again.status, 200);
    assert.equal(again.body.refreshToken, first.body.refreshToken);
    assert.equal(again.body.accessToken, first.body.accessToken);
    // The session keeps one live token: the shared new token still rotates normally.
    const next = await t.api.post('/auth/refresh', { refreshToken: first.body.refreshToken });
    assert.equal(next.status, 200);
  });

  it('gives every concurrent refresh with the same token the same pair', async () => {
    const user = await registerAndLogin(t.api);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => t.api.post('/auth/refresh', { refreshToken: user.refreshToken })),
    );
    for (const answer of answers) assert.equal(answer.status, 200, answer.text);
    const tokens = new Set(answers.map((a) => a.body.refreshToken));
    assert.equal(tokens.size, 1);
    const [{ count }] = await query<{ count: string }>(
      t.databaseUrl,
      `SELECT count(*) FROM refresh_sessions WHERE user_id = $1 AND revoked_at IS NULL`,
      [user.id],
    );
    assert.equal(count, '1');
  });

  it('revokes the whole session when a replaced token is presented after the grace window', async () => {
    const user = await registerAndLogin(t.api);
    const rotated = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(rotated.status, 200);
    await pastGraceWindow();
    const reuse = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(reuse.status, 401);
    assert.equal(reuse.body.code, 'INVALID_REFRESH_TOKEN');
    // The thief's copy and the victim's copy are both dead, refresh and access alike.
    const victim = await t.api.post('/auth/refresh', { refreshToken: rotated.body.refreshToken });
    assert.equal(victim.status, 401);
    const me = await t.api.get('/users/me', { token: rotated.body.accessToken });
    assert.equal(me.status, 401);
  });

  it('treats an older token of the chain presented again as theft', async () => {
    const user = await registerAndLogin(t.api);
    const one = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    await pastGraceWindow();
    const two = await t.api.post('/auth/refresh', { refreshToken: one.body.refreshToken });
    assert.equal(two.status, 200);
    const stale = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(stale.status, 401);
    const current = await t.api.post('/auth/refresh', { refreshToken: two.body.refreshToken });
    assert.equal(current.status, 401);
  });

  it('answers unknown, malformed and revoked tokens with the same 401', async () => {
    const unknown = await t.api.post('/auth/refresh', { refreshToken: 'x'.repeat(43) });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.code, 'INVALID_REFRESH_TOKEN');
    const user = await registerAndLogin(t.api);
    await t.api.post('/auth/logout', undefined, { token: user.accessToken });
    const revoked = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(revoked.status, 401);
    assert.deepEqual(revoked.body, unknown.body);
    const missing = await t.api.post('/auth/refresh', {});
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'VALIDATION_FAILED');
  });

  it('refuses an expired session', async () => {
    const user = await registerAndLogin(t.api);
    await query(
      t.databaseUrl,
      `UPDATE refresh_sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
      [user.id],
    );
    const res = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(res.status, 401);
    const me = await t.api.get('/users/me', { token: user.accessToken });
    assert.equal(me.status, 401);
  });
});
