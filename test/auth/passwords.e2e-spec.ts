import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerAndLogin, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';

describe('password rules and hashing', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  async function register(password: string) {
    return t.api.post('/auth/register', { email: uniqueEmail(), password });
  }

  it('refuses passwords shorter than 8 or longer than 256 code points, with a reason', async () => {
    const short = await register('Ab1!xyz');
    assert.equal(short.status, 400);
    assert.equal(short.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(short.body.errors, [{ field: 'password', message: 'must be at least 8 characters long' }]);
    const long = await register('x'.repeat(257));
    assert.equal(long.status, 400);
    assert.match(long.body.errors[0].message, /at most 256/);
    assert.equal((await register('y'.repeat(256))).status, 201);
  });

  it('counts code points, not bytes: eight emoji are a valid length', async () => {
    assert.equal((await register('🔐🔑🗝️🔒🛡️🧱🚪🪪')).status, 201);
    assert.equal((await register('🔐🔑🗝🔒🛡')).status, 400);
  });

  it('refuses common passwords', async () => {
    for (const common of ['password123', 'iloveyou', 'qwertyuiop', 'PASSWORD1']) {
      const res = await register(common);
      assert.equal(res.status, 400, common);
      assert.match(res.body.errors[0].message, /too common/);
    }
  });

  it('matches a password typed in another Unicode normal form (NFKC)', async () => {
    const email = uniqueEmail();
    const composed = 'Caf\u00e9 au lait, s\u2019il vous pla\u00eet';
    const decomposed = 'Cafe\u0301 au lait, s\u2019il vous plai\u0302t';
    assert.equal((await t.api.post('/auth/register', { email, password: composed })).status, 201);
    assert.equal((await t.api.post('/auth/login', { email, password: decomposed })).status, 200);
    const fullwidth = '\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44-\uff58\uff59\uff5a-42';
    const email2 = uniqueEmail();
    assert.equal((await t.api.post('/auth/register', { email: email2, password: fullwidth })).status, 201);
    assert.equal((await t.api.post('/auth/login', { email: email2, password: 'Password-xyz-42' })).status, 200);
  });

  it('makes every character count beyond bcrypt\u2019s 72 bytes', async () => {
    const email = uniqueEmail();
    const base = 'z'.repeat(80);
    assert.equal((await t.api.post('/auth/register', { email, password: `${base}-one` })).status, 201);
    assert.equal((await t.api.post('/auth/login', { email, password: `${base}-two` })).status, 401);
    assert.equal((await t.api.post('/auth/login', { email, password: `${base}-one` })).status, 200);
  });

  it('answers an unknown e-mail exactly like a wrong password', async () => {
    const email = uniqueEmail();
    await t.api.post('/auth/register', { email, password: 'Right horse battery 9' });
    const wrong = await t.api.post('/auth/login', { email, password: 'Wrong horse battery 9' });
    const unknown = await t.api.post('/auth/login', { email: uniqueEmail(), password: 'Wrong horse battery 9' });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
    assert.equal(wrong.body.code, 'INVALID_CREDENTIALS');
  });

  it('upgrades a hash made with a lower cost on the next successful login', async () => {
    const email = uniqueEmail();
    const password = 'Upgrade me gently 77';
    const low = await createTestApp({ databaseUrl: t.databaseUrl, env: { BCRYPT_ROUNDS: '4' } });
    await low.api.post('/auth/register', { email, password });
    await low.close();
    const high = await createTestApp({ databaseUrl: t.databaseUrl, env: { BCRYPT_ROUNDS: '5' } });
    try {
      assert.equal((await high.api.post('/auth/login', { email, password })).status, 200);
      // The upgrade is written after the response.
      let cost = '';
      await eventually(
        async () => {
          const [row] = await query<{ password_hash: string }>(
            t.databaseUrl,
            'SELECT password_hash FROM users WHERE email = $1',
            [email],
          );
          cost = row.password_hash.slice(4, 6);
          return cost === '05';
        },
        { what: 'the stored hash to have cost 05' },
      );
      assert.equal(cost, '05');
      assert.equal((await high.api.post('/auth/login', { email, password })).status, 200);
    } finally {
      await high.close();
    }
  });

  it('applies a raised PASSWORD_MIN_LENGTH to register and change, stating the minimum', async () => {
    const strict = await createTestApp({ databaseUrl: t.databaseUrl, env: { PASSWORD_MIN_LENGTH: '12' } });
    try {
      const tenLetters = 'Kite-Zebra';
      const short = await strict.api.post('/auth/register', { email: uniqueEmail(), password: tenLetters });
      assert.equal(short.status, 400);
      assert.equal(short.body.code, 'VALIDATION_FAILED');
      assert.deepEqual(short.body.errors, [{ field: 'password', message: 'must be at least 12 characters long' }]);
      const user = await registerAndLogin(strict.api);
      const change = await strict.api.post(
        '/auth/password/change',
        { currentPassword: user.password, newPassword: tenLetters },
        { token: user.accessToken },
      );
      assert.equal(change.status, 400);
      assert.equal(change.body.code, 'VALIDATION_FAILED');
      assert.deepEqual(change.body.errors, [{ field: 'newPassword', message: 'must be at least 12 characters long' }]);
      assert.equal(
        (await strict.api.post('/auth/register', { email: uniqueEmail(), password: 'Kite-Zebra-9' })).status,
        201,
      );
      // The same password is fine where the minimum is the default 8.
      assert.equal((await register(tenLetters)).status, 201);
    } finally {
      await strict.close();
    }
  });
});
