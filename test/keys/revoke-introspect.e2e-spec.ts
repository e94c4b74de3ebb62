// RFC 7009 revocation and RFC 7662 introspection, as an OAuth client and a resource server use them,
// found through the RFC 8414 metadata.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login, LoggedIn, registerAndLogin, registerUser } from '../factories/users';
import { query } from '../utils/database';
import { createTestApp, TestApp } from '../utils/create-test-app';

describe('token revocation (RFC 7009) and introspection (RFC 7662)', () => {
  let t: TestApp;
  let admin: LoggedIn;
  let metadata: Record<string, string>;

  before(async () => {
    t = await createTestApp();
    const registered = await registerUser(t.api);
    await query(t.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [registered.id]);
    admin = await login(t.api, registered);
    metadata = (await t.root.get('/.well-known/oauth-authorization-server')).body;
  });
  after(() => t.close());

  /** The path of an endpoint the metadata names (the test server is not at APP_URL). */
  const endpoint = (name: string) => new URL(metadata[name]!).pathname.replace(/^\/api\/v1/, '');

  const introspect = (token: string, bearer = admin.accessToken, hint?: string) =>
    t.api.request('POST', endpoint('introspection_endpoint'), {
      token: bearer,
      form: { token, ...(hint ? { token_type_hint: hint } : {}) },
    });

  it('names the revocation and introspection endpoints in the metadata', () => {
    assert.equal(endpoint('revocation_endpoint'), '/auth/revoke');
    assert.equal(endpoint('introspection_endpoint'), '/auth/introspect');
  });

  it('introspects live access and refresh tokens, and anything else as inactive', async () => {
    const user = await registerAndLogin(t.api);
    const access = await introspect(user.accessToken);
    assert.equal(access.status, 200);
    assert.equal(access.body.active, true);
    assert.equal(access.body.token_type, 'access_token');
    assert.equal(access.body.sub, user.id);
    assert.equal(typeof access.body.sid, 'string');
    assert.deepEqual(access.body.roles, ['user']);
    assert.equal(access.body.iss, 'latch');
    const refresh = await introspect(user.refreshToken, admin.accessToken, 'refresh_token');
    assert.equal(refresh.body.active, true);
    assert.equal(refresh.body.token_type, 'refresh_token');
    assert.equal(refresh.body.sid, access.body.sid);
    assert.deepEqual((await introspect('not-a-token')).body, { active: false });
    assert.deepEqual((await introspect('a.b.c')).body, { active: false });
  });

  it('answers 401 without credentials and 403 to a user bearer', async () => {
    const user = await registerAndLogin(t.api);
    const anonymous = await t.api.request('POST', '/auth/introspect', { form: { token: user.accessToken } });
    assert.equal(anonymous.status, 401);
    assert.equal((await introspect(user.accessToken, user.accessToken)).status, 403);
  });

  it('revokes a refresh token: its session ends and its access tokens stop at once', async () => {
    const user = await registerAndLogin(t.api);
    const res = await t.api.request('POST', endpoint('revocation_endpoint'), {
      form: { token: user.refreshToken, token_type_hint: 'refresh_token' },
    });
    assert.equal(res.status, 200);
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 401);
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: user.refreshToken })).status, 401);
    assert.deepEqual((await introspect(user.accessToken)).body, { active: false });
    assert.deepEqual((await introspect(user.refreshToken)).body, { active: false });
  });

  it('answers 200 for an unknown or already revoked token, and 400 without one', async () => {
    const form = (token: string) => t.api.request('POST', '/auth/revoke', { form: { token } });
    assert.equal((await form('unknown-token')).status, 200);
    assert.equal((await t.api.request('POST', '/auth/revoke', { form: {} })).status, 400);
  });
});
