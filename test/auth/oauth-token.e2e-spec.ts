import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerUser, TestUser } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';

describe('OAuth 2.0 token endpoint (RFC 6749)', () => {
  let t: TestApp;
  let user: TestUser;
  before(async () => {
    t = await createTestApp();
    user = await registerUser(t.api, { username: 'oauth_user' });
  });
  after(() => t.close());

  it('issues tokens for the password grant, by e-mail or username (§4.3, §5.1)', async () => {
    for (const username of [user.email, 'OAUTH_USER']) {
      const res = await t.api.request('POST', '/auth/token', {
        form: { grant_type: 'password', username, password: user.password, client_id: 'swagger-ui', scope: '' },
        headers: { authorization: `Basic ${Buffer.from('swagger-ui:').toString('base64')}` },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('pragma'), 'no-cache');
      assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
      assert.equal(res.body.token_type, 'Bearer');
      assert.equal(res.body.expires_in, 900);
      assert.equal((await t.api.get('/users/me', { token: res.body.access_token })).status, 200);
    }
  });

  it('refreshes with the refresh_token grant (§6)', async () => {
    const first = await t.api.request('POST', '/auth/token', {
      form: { grant_type: 'password', username: user.email, password: user.password },
    });
    const res = await t.api.request('POST', '/auth/token', {
      form: { grant_type: 'refresh_token', refresh_token: first.body.refresh_token },
    });
    assert.equal(res.status, 200);
    assert.notEqual(res.body.refresh_token, first.body.refresh_token);
  });

  it('answers errors in the §5.2 shape', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ grant_type: 'password', username: user.email, password: 'wrong password here' }, 'invalid_grant'],
      [{ grant_type: 'password', username: 'nobody@example.com', password: 'whatever-password' }, 'invalid_grant'],
      [{ grant_type: 'refresh_token', refresh_token: 'not-a-real-token' }, 'invalid_grant'],
      [{ grant_type: 'password', username: user.email }, 'invalid_request'],
      [{ grant_type: 'client_credentials' }, 'unsupported_grant_type'],
      [{}, 'invalid_request'],
    ];
    for (const [form, error] of cases) {
      const res = await t.api.request('POST', '/auth/token', { form });
      assert.equal(res.status, 400, JSON.stringify(form));
      assert.equal(res.body.error, error, JSON.stringify(form));
      assert.equal(typeof res.body.error_description, 'string');
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
  });

  it('refuses a JSON body with invalid_request', async () => {
    const res = await t.api.post('/auth/token', {
      grant_type: 'password',
      username: user.email,
      password: user.password,
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
  });
});
