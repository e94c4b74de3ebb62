// REFRESH_IDLE_TTL beyond the refresh itself: an idle-expired session introspects as inactive, is
// not "revoked" by RFC 7009 (there is nothing live to end), and the cleanup removes it. Sessions are
// aged in the database rather than waited for.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TokenCleanupService } from '../../src/modules/tokens/token-cleanup.service';
import { login, LoggedIn, registerAndLogin, registerUser } from '../factories/users';
import { query } from '../utils/database';
import { createTestApp, TestApp } from '../utils/create-test-app';

const IDLE = 600;
const NEVER = '0 0 1 1 *';

describe('sessions idle past REFRESH_IDLE_TTL', () => {
  let t: TestApp;
  let admin: LoggedIn;

  before(async () => {
    t = await createTestApp({ env: { REFRESH_IDLE_TTL: String(IDLE), TOKEN_CLEANUP_CRON: NEVER } });
    const registered = await registerUser(t.api);
    await query(t.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [registered.id]);
    admin = await login(t.api, registered);
  });
  after(() => t.close());

  /** The session's last refresh (or sign-in) moved `seconds` into the past; its absolute expiry stays. */
  async function idleFor(refreshToken: string, seconds: number): Promise<string> {
    const sid = (await introspect(refreshToken)).body.sid as string;
    await query(
      t.databaseUrl,
      `UPDATE refresh_sessions
          SET created_at = created_at - make_interval(secs => $2), rotated_at = rotated_at - make_interval(secs => $2)
        WHERE id = $1`,
      [sid, seconds],
    );
    return sid;
  }

  const introspect = (token: string) =>
    t.api.request('POST', '/auth/introspect', {
      token: admin.accessToken,
      form: { token, token_type_hint: 'refresh_token' },
    });

  const sessionExists = async (sid: string) =>
    (await query(t.databaseUrl, 'SELECT 1 FROM refresh_sessions WHERE id = $1', [sid])).length === 1;

  it('introspects an idle-expired refresh token as inactive, and a fresh one with the idle limit as exp', async () => {
    const fresh = await registerAndLogin(t.api);
    const live = await introspect(fresh.refreshToken);
    assert.equal(live.body.active, true);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(live.body.exp <= now + IDLE + 5, `exp ${live.body.exp} is past the idle limit`);

    const idle = await registerAndLogin(t.api);
    await idleFor(idle.refreshToken, IDLE + 60);
    assert.deepEqual((await introspect(idle.refreshToken)).body, { active: false });
    // The refresh agrees: the same session is over.
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: idle.refreshToken })).status, 401);
  });

  it('keeps a session refreshed within the limit, however old its sign-in', async () => {
    const user = await registerAndLogin(t.api);
    const refreshed = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(refreshed.status, 200);
    const sid = (await introspect(refreshed.body.refreshToken)).body.sid as string;
    await query(
      t.databaseUrl,
      `UPDATE refresh_sessions SET created_at = created_at - make_interval(secs => $2) WHERE id = $1`,
      [sid, IDLE * 10],
    );
    assert.equal((await introspect(refreshed.body.refreshToken)).body.active, true);
  });

  it('is removed by the cleanup, while sessions used within the limit stay', async () => {
    const idle = await registerAndLogin(t.api);
    const idleSid = await idleFor(idle.refreshToken, IDLE + 60);
    const recent = await registerAndLogin(t.api);
    const recentSid = await idleFor(recent.refreshToken, IDLE - 120);

    const report = await t.app.get(TokenCleanupService).run();
    assert.ok(report && report.expiredSessions >= 1, `report ${JSON.stringify(report)}`);
    assert.equal(await sessionExists(idleSid), false, 'the idle session is deleted');
    assert.equal(await sessionExists(recentSid), true, 'the recently used session stays');
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: recent.refreshToken })).status, 200);
  });
});
