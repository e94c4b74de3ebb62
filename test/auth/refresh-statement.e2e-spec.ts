// A refresh is one statement: the new pair is signed for the session its token names, then one
// UPDATE rotates that session, keeps the pair for the grace window and writes the audit row.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DomainEvent } from '../../src/common/events/domain-events';
import { CacheKind, StateCache } from '../../src/modules/cache/state-cache.service';
import { registerAndLogin } from '../factories/users';
import { LogCapture } from '../observability/log-capture';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { eventually } from '../utils/eventually';
import { query } from '../utils/database';

function claims(accessToken: string): { sid: string; sub: string; exp: number } {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8'));
}

describe('refresh in one statement', () => {
  let t: TestApp;
  const logs = new LogCapture();
  before(async () => {
    t = await createTestApp({ env: { REFRESH_REUSE_GRACE_SECONDS: '5', LOG_LEVEL: 'info' }, logDestination: logs });
  });
  after(() => t.close());

  /** The statements one request ran on its way to the answer, from its own log line (its timing breakdown). */
  const statementsOf = async (requestId: string): Promise<number> => {
    const line = await eventually(() => logs.forRequest(requestId).find((l) => l.msg === 'request completed'), {
      what: `the log line of request ${requestId}`,
    });
    return (line.timing as { dbQueries: number }).dbQueries;
  };

  const refreshAudits = async (userId: string): Promise<number> =>
    (
      await query(t.databaseUrl, `SELECT 1 FROM auth_events WHERE user_id = $1 AND type = $2`, [
        userId,
        DomainEvent.TokenRefreshed,
      ])
    ).length;

  it('rotates, keeps the grace pair and writes the audit row in one round trip', async () => {
    const user = await registerAndLogin(t.api);
    // Warm the user into the state cache as any refresh after the first finds it.
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: user.refreshToken })).status, 200);
    const previous = (await t.api.post('/auth/refresh', { refreshToken: user.refreshToken })).body.refreshToken;
    const requestId = `refresh-${randomBytes(6).toString('hex')}`;
    const res = await t.api.post(
      '/auth/refresh',
      { refreshToken: previous },
      { headers: { 'x-request-id': requestId } },
    );
    assert.equal(res.status, 200);
    assert.equal(await statementsOf(requestId), 1, 'one statement for the refresh');

    const [session] = await query<{ grace_ciphertext: Buffer | null; token_hash: Buffer }>(
      t.databaseUrl,
      `SELECT grace_ciphertext, token_hash FROM refresh_sessions WHERE id = $1`,
      [claims(res.body.accessToken).sid],
    );
    assert.ok(session.grace_ciphertext, 'the pair is kept for the grace window');
    assert.deepEqual(session.token_hash, createHash('sha256').update(res.body.refreshToken).digest());
    assert.equal(await refreshAudits(user.id), 2, 'an audit row for each rotation, none for the replay');
    const replay = await t.api.post('/auth/refresh', { refreshToken: previous });
    assert.equal(replay.status, 200);
    assert.deepEqual(replay.body, {
      ...res.body,
      expiresIn: replay.body.expiresIn,
      refreshExpiresIn: replay.body.refreshExpiresIn,
    });
    assert.ok(Math.abs(replay.body.refreshExpiresIn - res.body.refreshExpiresIn) <= 1);
  });

  it('names the session and user in the token, but only the secret part proves it', async () => {
    const user = await registerAndLogin(t.api);
    const named = Buffer.from(user.refreshToken, 'base64url');
    assert.equal(named.length, 64);
    const sid = claims(user.accessToken).sid;
    assert.equal(named.subarray(0, 16).toString('hex'), sid.replaceAll('-', ''));
    assert.equal(named.subarray(16, 32).toString('hex'), user.id.replaceAll('-', ''));

    const forged = Buffer.concat([named.subarray(0, 32), randomBytes(32)]).toString('base64url');
    const refused = await t.api.post('/auth/refresh', { refreshToken: forged });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'INVALID_REFRESH_TOKEN');
    assert.equal(await refreshAudits(user.id), 0, 'nothing rotated, nothing audited');
    const real = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(real.status, 200, 'the real token still rotates');
  });

  it('refreshes a token issued before tokens named their session, and gives one that does', async () => {
    const user = await registerAndLogin(t.api);
    const older = randomBytes(32).toString('base64url');
    const [session] = await query<{ id: string }>(
      t.databaseUrl,
      `INSERT INTO refresh_sessions (user_id, token_hash, expires_at)
       VALUES ($1, $2, now() + interval '1 day') RETURNING id`,
      [user.id, createHash('sha256').update(older).digest()],
    );
    const res = await t.api.post('/auth/refresh', { refreshToken: older });
    assert.equal(res.status, 200);
    assert.equal(claims(res.body.accessToken).sid, session.id);
    assert.equal(
      Buffer.from(res.body.refreshToken, 'base64url').subarray(0, 16).toString('hex'),
      session.id.replaceAll('-', ''),
    );
    const again = await t.api.post('/auth/refresh', { refreshToken: older });
    assert.equal(again.body.refreshToken, res.body.refreshToken, 'the grace window holds for it too');
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: res.body.refreshToken })).status, 200);
  });

  it('never signs an access token that outlives its session', async () => {
    const user = await registerAndLogin(t.api);
    const sid = claims(user.accessToken).sid;
    const [{ expires_at: end }] = await query<{ expires_at: Date }>(
      t.databaseUrl,
      `UPDATE refresh_sessions SET expires_at = now() + interval '90 seconds' WHERE id = $1 RETURNING expires_at`,
      [sid],
    );
    const res = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(res.status, 200);
    assert.ok(claims(res.body.accessToken).exp <= Math.floor(end.getTime() / 1000), 'capped at the session end');
    assert.ok(res.body.expiresIn <= 91);
    const replay = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(replay.body.accessToken, res.body.accessToken, 'the grace window returns the capped pair');
  });

  it('ends the session of a disabled user instead of refreshing it', async () => {
    const user = await registerAndLogin(t.api);
    await query(t.databaseUrl, `UPDATE users SET status = 'disabled' WHERE id = $1`, [user.id]);
    await t.app.get(StateCache).forget(CacheKind.User, [user.id]); // as the admin API does
    const res = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(res.status, 401);
    const [session] = await query<{ revoked_reason: string | null }>(
      t.databaseUrl,
      `SELECT revoked_reason FROM refresh_sessions WHERE id = $1`,
      [claims(user.accessToken).sid],
    );
    assert.equal(session.revoked_reason, 'disabled');
    assert.equal(await refreshAudits(user.id), 0);
  });
});
