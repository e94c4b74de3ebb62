// API keys on one instance: the lifecycle, what a key may and may not do, and how it is refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login, LoggedIn, registerAndLogin, registerUser, GOOD_PASSWORD } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { UsersService } from '../../src/modules/users/users.service';
import { createKey, problemCode, rawGet, withKey } from './helpers';

describe('API keys', () => {
  let t: TestApp;
  let admin: LoggedIn;

  before(async () => {
    t = await createTestApp({ env: { API_KEYS_MAX_PER_USER: '3' } });
    const registered = await registerUser(t.api);
    await query(t.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [registered.id]);
    admin = await login(t.api, registered);
  });
  after(() => t.close());

  it('creates a key shown once, uses it, lists it without the secret, deletes it, and audits both', async () => {
    const user = await registerAndLogin(t.api);
    const created = await t.api.post(
      '/api-keys',
      { name: '  CI deploys ', scopes: ['profile'] },
      { token: user.accessToken },
    );
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    const key = created.body;
    assert.match(key.key, /^latch_[A-Za-z0-9_-]{43}$/);
    assert.ok(key.key.startsWith(key.prefix));
    assert.equal(key.name, 'CI deploys');
    assert.deepEqual(key.scopes, ['profile']);
    assert.equal(key.expiresAt, null);
    assert.equal(key.lastUsedAt, null);

    const me = await t.api.get('/users/me', withKey(key.key));
    assert.equal(me.status, 200);
    assert.equal(me.body.id, user.id);

    const listed = await t.api.get('/api-keys', { token: user.accessToken });
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.map((k: { id: string }) => k.id),
      [key.id],
    );
    assert.deepEqual(Object.keys(listed.body[0]).sort(), [
      'createdAt',
      'expiresAt',
      'id',
      'lastUsedAt',
      'name',
      'prefix',
      'scopes',
    ]);
    assert.ok(!listed.text.includes(key.key), 'the list never shows the key');
    const stored = await query<{ key_hash: string }>(t.databaseUrl, 'SELECT key_hash FROM api_keys WHERE id = $1', [
      key.id,
    ]);
    assert.match(stored[0]!.key_hash, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(stored).includes(key.key.slice(6)), 'only a hash is stored');

    await eventually(
      async () => (await t.api.get('/api-keys', { token: user.accessToken })).body[0].lastUsedAt !== null,
      { what: 'lastUsedAt to be stamped after the response' },
    );

    const other = await registerAndLogin(t.api);
    assert.equal((await t.api.delete(`/api-keys/${key.id}`, { token: other.accessToken })).status, 404);
    assert.equal((await t.api.delete(`/api-keys/${key.id}`, { token: user.accessToken })).status, 204);
    assert.equal((await t.api.delete(`/api-keys/${key.id}`, { token: user.accessToken })).status, 404);
    assert.equal((await t.api.get('/users/me', withKey(key.key))).status, 401);
    assert.deepEqual((await t.api.get('/api-keys', { token: user.accessToken })).body, []);

    const audit = await query<{ type: string; details: { apiKeyId: string } }>(
      t.databaseUrl,
      `SELECT type, details FROM auth_events WHERE user_id = $1 AND type LIKE 'auth.api_key.%' ORDER BY occurred_at`,
      [user.id],
    );
    assert.deepEqual(
      audit.map((row) => [row.type, row.details.apiKeyId]),
      [
        ['auth.api_key.created', key.id],
        ['auth.api_key.deleted', key.id],
      ],
    );
    const metrics = (await t.root.get('/metrics')).text;
    assert.match(metrics, /latch_api_key_requests_total\{result="success"\} [1-9]/);
    assert.match(metrics, /latch_api_key_requests_total\{result="invalid"\} [1-9]/);
  });

  it('lets a key call only the routes and scopes it is meant for', async () => {
    const user = await registerAndLogin(t.api);
    const profile = await createKey(t.api, user.accessToken, { scopes: ['profile'] });
    const bare = await createKey(t.api, user.accessToken, { scopes: [] });
    const k = withKey(profile.key);

    assert.equal((await t.api.get('/users/me', k)).status, 200);
    assert.equal((await t.api.get('/auth/verify', k)).status, 200);
    assert.equal((await t.api.get('/auth/verify', withKey(bare.key))).status, 200, 'verify takes any key');
    assert.equal(problemCode(await t.api.get('/users/me', withKey(bare.key))), 'FORBIDDEN');
    const refused = [
      await t.api.post('/api-keys', { name: 'from a key' }, k),
      await t.api.get('/api-keys', k),
      await t.api.delete(`/api-keys/${profile.id}`, k),
      await t.api.patch('/users/me', { displayName: 'x' }, k),
      await t.api.post(
        '/auth/password/change',
        { currentPassword: GOOD_PASSWORD, newPassword: 'Another long passphrase 9' },
        k,
      ),
      await t.api.post('/auth/logout', undefined, k),
      await t.api.post('/auth/logout-all', undefined, k),
      await t.api.get('/auth/sessions', k),
      await t.api.get('/users', k),
      await t.api.request('POST', '/auth/introspect', { form: { token: profile.key }, ...k }),
      await t.api.get('/users/presence/stream', k),
    ];
    for (const response of refused) assert.equal(response.status, 403, response.text);
    // Nothing was done on the key's behalf.
    assert.equal((await t.api.get('/api-keys', { token: user.accessToken })).body.length, 2);
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);
  });

  it('answers verify and introspect for keys, unknown scopes included', async () => {
    const user = await registerAndLogin(t.api);
    const custom = await createKey(t.api, user.accessToken, {
      scopes: ['introspect', 'billing:read', 'x.y_z-1'],
      expiresInDays: 30,
    });
    const verified = await t.api.get('/auth/verify', withKey(custom.key));
    assert.equal(verified.status, 200);
    assert.deepEqual(verified.body, {
      valid: true,
      userId: user.id,
      apiKeyId: custom.id,
      roles: ['user'],
      scopes: ['introspect', 'billing:read', 'x.y_z-1'],
      expiresAt: custom.expiresAt,
    });
    const days = (Date.parse(custom.expiresAt!) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `expires in 30 days (${days})`);

    const other = await createKey(t.api, user.accessToken, { scopes: ['deploy'] });
    const introspect = (token: string) =>
      t.api.request('POST', '/auth/introspect', { form: { token }, ...withKey(custom.key) });
    const answer = await introspect(other.key);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, {
      active: true,
      token_type: 'api_key',
      sub: user.id,
      api_key_id: other.id,
      scopes: ['deploy'],
    });
    const self = await introspect(custom.key);
    assert.equal(self.body.exp, Math.floor(Date.parse(custom.expiresAt!) / 1000));
    const access = await introspect(user.accessToken);
    assert.equal(access.body.active, true);
    assert.equal(access.body.token_type, 'access_token');
    assert.deepEqual((await introspect('latch_' + 'A'.repeat(43))).body, { active: false });
    // An admin's bearer introspects keys too.
    const byAdmin = await t.api.request('POST', '/auth/introspect', {
      form: { token: other.key, token_type_hint: 'api_key' },
      token: admin.accessToken,
    });
    assert.equal(byAdmin.body.api_key_id, other.id);
  });

  it('refuses malformed, unknown, expired, deleted and disabled-owner keys with one identical 401', async () => {
    const user = await registerAndLogin(t.api);
    const deleted = await createKey(t.api, user.accessToken, { scopes: ['profile'] });
    await t.api.delete(`/api-keys/${deleted.id}`, { token: user.accessToken });
    const expired = await createKey(t.api, user.accessToken, { scopes: ['profile'] });
    await query(t.databaseUrl, `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      expired.id,
    ]);
    const victim = await registerAndLogin(t.api);
    const ofDisabled = await createKey(t.api, victim.accessToken, { scopes: ['profile'] });
    assert.equal((await t.api.get('/users/me', withKey(ofDisabled.key))).status, 200);
    assert.equal((await t.api.post(`/users/${victim.id}/disable`, {}, { token: admin.accessToken })).status, 200);

    const good = deleted.key;
    const presented = {
      unknown: 'latch_' + 'B'.repeat(43),
      wrongPrefix: 'latch-' + good.slice(6),
      otherPrefix: 'sk_live_' + good.slice(6),
      tooShort: good.slice(0, -1),
      tooLong: good + 'A',
      notBase64url: good.slice(0, -2) + '+/',
      tenKilobytes: 'latch_' + 'A'.repeat(10_000),
      empty: '',
      deleted: deleted.key,
      expired: expired.key,
      disabledOwner: ofDisabled.key,
    };
    const bodies = new Map<string, unknown>();
    for (const [name, key] of Object.entries(presented)) {
      const response = await t.api.get('/users/me', withKey(key));
      assert.equal(response.status, 401, `${name}: ${response.text}`);
      bodies.set(name, response.body);
    }
    const twice = await rawGet(`${t.api.baseUrl}/users/me`, { 'x-api-key': [ofDisabled.key, good] });
    assert.equal(twice.status, 401);
    bodies.set('twoHeaders', twice.body);
    const first = bodies.get('unknown');
    assert.equal((first as { code: string }).code, 'UNAUTHORIZED');
    for (const [name, body] of bodies) assert.deepEqual(body, first, `${name} gets the same answer`);
  });

  it('challenges a refused key with the ApiKey scheme, and a refused bearer token with Bearer alone', async () => {
    const user = await registerAndLogin(t.api);
    const key = await createKey(t.api, user.accessToken, { scopes: ['profile'] });
    await t.api.delete(`/api-keys/${key.id}`, { token: user.accessToken });
    for (const presented of [key.key, 'latch_' + 'C'.repeat(43), 'not a key']) {
      for (const path of ['/users/me', '/auth/verify', '/users']) {
        const refused = await t.api.get(path, withKey(presented));
        assert.equal(refused.status, 401, path);
        assert.equal(
          refused.headers.get('www-authenticate'),
          'ApiKey realm="latch", header="X-API-Key", Bearer realm="latch"',
          path,
        );
      }
    }
    const badToken = await t.api.get('/users/me', { token: 'not.a.token' });
    assert.equal(badToken.status, 401);
    assert.equal(badToken.headers.get('www-authenticate'), 'Bearer realm="latch", error="invalid_token"');
    const none = await t.api.get('/users/me');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="latch"');
  });

  it('refuses a key once it expires', async () => {
    const user = await registerAndLogin(t.api);
    const key = await createKey(t.api, user.accessToken, { scopes: ['profile'], expiresInDays: 1 });
    await query(t.databaseUrl, `UPDATE api_keys SET expires_at = now() + interval '2 seconds' WHERE id = $1`, [key.id]);
    assert.equal((await t.api.get('/users/me', withKey(key.key))).status, 200);
    await eventually(async () => (await t.api.get('/users/me', withKey(key.key))).status === 401, {
      what: 'the key to be refused after its expiry',
      timeoutMs: 10_000,
    });
  });

  it('answers 400 to a bearer token and a key together, and ignores a key in the query string', async () => {
    const user = await registerAndLogin(t.api);
    const key = await createKey(t.api, user.accessToken, { scopes: ['profile'] });
    const both = await t.api.get('/users/me', { token: user.accessToken, ...withKey(key.key) });
    assert.equal(both.status, 400);
    assert.equal(problemCode(both), 'VALIDATION_FAILED');
    for (const name of ['api_key', 'apiKey', 'x-api-key', 'key']) {
      assert.equal((await t.api.get(`/users/me?${name}=${key.key}`)).status, 401, name);
    }
  });

  it('lets a key with scope admin act for an admin owner only, and only while the owner is one', async () => {
    const registered = await registerUser(t.api);
    await query(t.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [registered.id]);
    const owner = await login(t.api, registered);
    const adminKey = await createKey(t.api, owner.accessToken, { scopes: ['admin'] });
    const noScope = await createKey(t.api, owner.accessToken, { scopes: ['profile'] });
    const plain = await registerAndLogin(t.api);
    const plainAdminKey = await createKey(t.api, plain.accessToken, { scopes: ['admin'] });

    assert.equal((await t.api.get('/users', withKey(adminKey.key))).status, 200);
    assert.equal((await t.api.get(`/users/${plain.id}/api-keys`, withKey(adminKey.key))).status, 200);
    assert.equal((await t.api.get('/keys', withKey(adminKey.key))).status, 200);
    assert.equal((await t.api.get('/users', withKey(noScope.key))).status, 403);
    assert.equal((await t.api.get('/users', withKey(plainAdminKey.key))).status, 403);

    await query(t.databaseUrl, `UPDATE users SET roles = '{user}' WHERE id = $1`, [owner.id]);
    await t.app.get(UsersService).evictCached(owner.id); // no route demotes an admin; this is what one would do
    assert.equal((await t.api.get('/users', withKey(adminKey.key))).status, 403);
    assert.equal((await t.api.get('/auth/verify', withKey(adminKey.key))).status, 200);
  });

  it("lets an admin list and delete any user's keys, audited with the admin as actor", async () => {
    const user = await registerAndLogin(t.api);
    const key = await createKey(t.api, user.accessToken, { scopes: ['profile'] });
    const listed = await t.api.get(`/users/${user.id}/api-keys`, { token: admin.accessToken });
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.map((k: { id: string }) => k.id),
      [key.id],
    );
    assert.equal((await t.api.get(`/users/${user.id}/api-keys`, { token: user.accessToken })).status, 403);
    assert.equal(
      (await t.api.delete(`/users/${admin.id}/api-keys/${key.id}`, { token: admin.accessToken })).status,
      404,
      'the key must belong to the user named',
    );
    assert.equal(
      (await t.api.delete(`/users/${user.id}/api-keys/${key.id}`, { token: admin.accessToken })).status,
      204,
    );
    assert.equal((await t.api.get('/users/me', withKey(key.key))).status, 401);
    const rows = await query<{ actor_id: string }>(
      t.databaseUrl,
      `SELECT actor_id FROM auth_events WHERE user_id = $1 AND type = 'auth.api_key.deleted'`,
      [user.id],
    );
    assert.deepEqual(
      rows.map((r) => r.actor_id),
      [admin.id],
    );
  });

  it("lets an admin delete all of a user's keys at once, leaving other users' keys alone", async () => {
    const user = await registerAndLogin(t.api);
    const other = await registerAndLogin(t.api);
    const keys = [
      await createKey(t.api, user.accessToken, { scopes: ['profile'] }),
      await createKey(t.api, user.accessToken, { scopes: ['profile'] }),
    ];
    const kept = await createKey(t.api, other.accessToken, { scopes: ['profile'] });
    for (const key of keys) assert.equal((await t.api.get('/users/me', withKey(key.key))).status, 200); // cached
    assert.equal((await t.api.delete(`/users/${user.id}/api-keys`, { token: user.accessToken })).status, 403);
    assert.equal((await t.api.delete(`/users/${user.id}/api-keys`, { token: admin.accessToken })).status, 204);
    for (const key of keys) assert.equal((await t.api.get('/users/me', withKey(key.key))).status, 401);
    assert.equal((await t.api.get('/users/me', withKey(kept.key))).status, 200);
    assert.deepEqual((await t.api.get('/api-keys', { token: user.accessToken })).body, []);
    const audited = await query<{ count: string }>(
      t.databaseUrl,
      `SELECT count(*) FROM auth_events WHERE user_id = $1 AND type = 'auth.api_key.deleted' AND actor_id = $2`,
      [user.id, admin.id],
    );
    assert.equal(Number(audited[0]!.count), 2);
    const unknown = '00000000-0000-4000-8000-000000000000';
    assert.equal((await t.api.delete(`/users/${unknown}/api-keys`, { token: admin.accessToken })).status, 404);
  });

  it('keeps keys working across a password change and logout-all', async () => {
    const user = await registerAndLogin(t.api);
    const key = await createKey(t.api, user.accessToken, { scopes: ['profile'] });
    const newPassword = 'A brand new passphrase 42';
    const changed = await t.api.post(
      '/auth/password/change',
      { currentPassword: user.password, newPassword },
      { token: user.accessToken },
    );
    assert.equal(changed.status, 204);
    const again = await login(t.api, { ...user, password: newPassword });
    assert.equal((await t.api.post('/auth/logout-all', undefined, { token: again.accessToken })).status, 204);
    assert.equal((await t.api.get('/users/me', { token: again.accessToken })).status, 401);
    assert.equal((await t.api.get('/users/me', withKey(key.key))).status, 200);
  });

  it('holds each account to API_KEYS_MAX_PER_USER live keys', async () => {
    const user = await registerAndLogin(t.api);
    const keys = [];
    for (let i = 0; i < 3; i++) keys.push(await createKey(t.api, user.accessToken));
    const over = await t.api.post('/api-keys', { name: 'one too many' }, { token: user.accessToken });
    assert.equal(over.status, 400);
    assert.equal(problemCode(over), 'VALIDATION_FAILED');
    assert.match(over.body.detail, /at most 3 API keys/);
    // An expired key no longer counts; a deleted one neither.
    await query(t.databaseUrl, `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      keys[0]!.id,
    ]);
    await createKey(t.api, user.accessToken);
    await t.api.delete(`/api-keys/${keys[1]!.id}`, { token: user.accessToken });
    await createKey(t.api, user.accessToken);
    assert.equal((await t.api.post('/api-keys', { name: 'again' }, { token: user.accessToken })).status, 400);
  });

  it('validates names, scopes and expiry', async () => {
    const user = await registerAndLogin(t.api);
    const bad = [
      {},
      { name: '' },
      { name: 'x'.repeat(101) },
      { name: 'tab\there' },
      { name: 'nul\u0000' },
      { name: 'ok', scopes: ['Admin'] },
      { name: 'ok', scopes: ['9lives'] },
      { name: 'ok', scopes: ['a'.repeat(65)] },
      { name: 'ok', scopes: Array.from({ length: 21 }, (_, i) => `s${i}`) },
      { name: 'ok', scopes: 'profile' },
      { name: 'ok', expiresInDays: 0 },
      { name: 'ok', expiresInDays: 1.5 },
      { name: 'ok', key: 'latch_chosen' },
    ];
    for (const body of bad) {
      const response = await t.api.post('/api-keys', body, { token: user.accessToken });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(problemCode(response), 'VALIDATION_FAILED');
    }
    const fine = await createKey(t.api, user.accessToken, {
      name: 'Ünïcode ✓ name',
      scopes: Array.from({ length: 20 }, (_, i) => `s${i}`),
    });
    assert.equal(fine.scopes.length, 20);
  });
});
