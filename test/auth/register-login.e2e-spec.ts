import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, registerUser, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';

describe('register and login', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('registers a user and returns the contract User shape', async () => {
    const email = uniqueEmail('Ada');
    const res = await t.api.post('/auth/register', { email, password: GOOD_PASSWORD, displayName: 'Ada' });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), [
      'createdAt',
      'displayName',
      'email',
      'emailVerified',
      'id',
      'lastLoginAt',
      'mfaEnabled',
      'roles',
      'status',
      'username',
    ]);
    assert.equal(res.body.email, email);
    assert.equal(res.body.username, null);
    assert.equal(res.body.lastLoginAt, null);
    assert.deepEqual(res.body.roles, ['user']);
    assert.equal(res.body.status, 'active');
    assert.equal(res.body.emailVerified, false);
    assert.equal(res.body.mfaEnabled, false);
    assert.ok(!('passwordHash' in res.body));
  });

  it('treats e-mail addresses case-insensitively for uniqueness and login', async () => {
    const email = uniqueEmail('case');
    await registerUser(t.api, { email });
    const dup = await t.api.post('/auth/register', { email: email.toUpperCase(), password: GOOD_PASSWORD });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'EMAIL_TAKEN');
    assert.match(dup.headers.get('content-type') ?? '', /application\/problem\+json/);
    const login = await t.api.post('/auth/login', { email: email.toUpperCase(), password: GOOD_PASSWORD });
    assert.equal(login.status, 200);
  });

  it('logs in and returns a token pair with no-store caching', async () => {
    const user = await registerUser(t.api);
    const res = await t.api.post('/auth/login', { email: user.email, password: user.password });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.body.tokenType, 'Bearer');
    assert.equal(res.body.expiresIn, 900);
    assert.equal(res.body.refreshExpiresIn, 2592000);
    assert.equal(res.body.user.id, user.id);
    assert.ok(res.body.refreshToken.length >= 43);
    const me = await t.api.get('/users/me', { token: res.body.accessToken });
    assert.equal(me.status, 200);
    assert.equal(me.body.email, user.email);
  });

  it('stores only a bcrypt hash of the password', async () => {
    const user = await registerUser(t.api);
    const [row] = await query<{ password_hash: string }>(
      t.databaseUrl,
      'SELECT password_hash FROM users WHERE id = $1',
      [user.id],
    );
    assert.match(row.password_hash, /^\$2[aby]\$04\$/);
    assert.ok(!row.password_hash.includes(user.password));
  });
});
