// The JWT guard remembers a verified token's claims (the signature is checked once per token), yet
// every refusal that must act at once still does on a remembered token: a revoked signing key, a
// logout, and a token that reuses a remembered token's signature under other claims.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login, LoggedIn, registerAndLogin, registerUser } from '../factories/users';
import { query } from '../utils/database';
import { createTestApp, TestApp } from '../utils/create-test-app';

function kidOf(token: string): string {
  const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string };
  return header.kid;
}

describe('remembered access tokens', () => {
  let t: TestApp;
  let admin: LoggedIn;

  before(async () => {
    // ES256 with managed keys, so a key can be revoked.
    t = await createTestApp({ env: { JWT_ALGORITHM: 'ES256' } });
    const registered = await registerUser(t.api);
    await query(t.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [registered.id]);
    admin = await login(t.api, registered);
  });
  after(() => t.close());

  it('refuses a remembered token at once when the key that signed it is revoked', async () => {
    const user = await registerAndLogin(t.api);
    // Used twice: verified, then answered from memory.
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);
    assert.equal((await t.api.get('/auth/verify', { token: user.accessToken })).status, 200);

    const revoked = await t.api.post(`/keys/${kidOf(user.accessToken)}/revoke`, {}, { token: admin.accessToken });
    assert.equal(revoked.status, 200);
    const me = await t.api.get('/users/me', { token: user.accessToken });
    assert.equal(me.status, 401);
    assert.match(me.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assert.equal((await t.api.get('/auth/verify', { token: user.accessToken })).status, 401);

    // Tokens signed by the key that replaced it work.
    const again = await login(t.api, user);
    assert.notEqual(kidOf(again.accessToken), kidOf(user.accessToken));
    assert.equal((await t.api.get('/users/me', { token: again.accessToken })).status, 200);
  });

  it('refuses a remembered token at once after logout', async () => {
    const user = await registerAndLogin(t.api);
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);
    assert.equal((await t.api.post('/auth/logout', {}, { token: user.accessToken })).status, 204);
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 401);
    assert.equal((await t.api.get('/auth/verify', { token: user.accessToken })).status, 401);
  });

  it("refuses a remembered token's signature under other claims", async () => {
    const user = await registerAndLogin(t.api);
    const other = await registerAndLogin(t.api);
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);
    const [header, payload, signature] = user.accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const otherClaims = JSON.parse(Buffer.from(other.accessToken.split('.')[1]!, 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: otherClaims.sub, sid: otherClaims.sid })).toString(
      'base64url',
    );
    const res = await t.api.get('/users/me', { token: `${header}.${forged}.${signature}` });
    assert.equal(res.status, 401);
    // The genuine token is still accepted.
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);
  });
});
