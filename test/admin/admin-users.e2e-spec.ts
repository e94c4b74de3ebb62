import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, login, registerAndLogin, registerUser, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';

const ADMIN = { id: '', email: uniqueEmail('admin'), password: GOOD_PASSWORD };

describe('admin: accounts', () => {
  let t: TestApp;
  let adminToken: string;
  before(async () => {
    t = await createTestApp({ env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } });
    adminToken = (await login(t.api, ADMIN)).accessToken;
  });
  after(() => t.close());

  it('creates the admin from ADMIN_EMAIL and ADMIN_PASSWORD at start', async () => {
    const me = await t.api.get('/users/me', { token: adminToken });
    assert.equal(me.status, 200);
    assert.equal(me.body.email, ADMIN.email);
    assert.ok(me.body.roles.includes('admin'));
    assert.equal(me.body.status, 'active');
  });

  it('lists users newest first, with a status filter and pagination', async () => {
    const created = [];
    for (let i = 0; i < 3; i += 1) created.push(await registerUser(t.api));
    const page = await t.api.get('/users?status=active&page=1&limit=2', { token: adminToken });
    assert.equal(page.status, 200);
    assert.deepEqual(Object.keys(page.body).sort(), ['items', 'limit', 'page', 'total']);
    assert.equal(page.body.page, 1);
    assert.equal(page.body.limit, 2);
    assert.ok(page.body.total >= 4);
    assert.deepEqual(
      page.body.items.map((u: { id: string }) => u.id),
      [created[2].id, created[1].id],
    );
    const next = await t.api.get('/users?status=active&page=2&limit=2', { token: adminToken });
    assert.equal(next.body.items[0].id, created[0].id);
    const defaults = await t.api.get('/users', { token: adminToken });
    assert.equal(defaults.body.page, 1);
    assert.equal(defaults.body.limit, 20);
    const none = await t.api.get('/users?status=disabled', { token: adminToken });
    assert.ok(none.body.items.every((u: { status: string }) => u.status === 'disabled'));
  });

  it('refuses bad list parameters with 400', async () => {
    for (const qs of ['status=gone', 'page=0', 'limit=101', 'limit=abc', 'sort=email']) {
      const res = await t.api.get(`/users?${qs}`, { token: adminToken });
      assert.equal(res.status, 400, qs);
      assert.equal(res.body.code, 'VALIDATION_FAILED', qs);
    }
  });

  it('gets one user, and answers 404 for an unknown or malformed id', async () => {
    const user = await registerUser(t.api);
    const res = await t.api.get(`/users/${user.id}`, { token: adminToken });
    assert.equal(res.status, 200);
    assert.equal(res.body.email, user.email);
    assert.equal((await t.api.get('/users/00000000-0000-4000-8000-000000000000', { token: adminToken })).status, 404);
    assert.equal((await t.api.get('/users/not-a-uuid', { token: adminToken })).status, 404);
    const approve = await t.api.post('/users/00000000-0000-4000-8000-000000000000/approve', undefined, {
      token: adminToken,
    });
    assert.equal(approve.status, 404);
    assert.equal(approve.body.code, 'NOT_FOUND');
  });

  it('answers 403 FORBIDDEN to a signed-in user who is not an admin, and 401 without a token', async () => {
    const user = await registerAndLogin(t.api);
    const other = await registerUser(t.api);
    const attempts = [
      t.api.get('/users', { token: user.accessToken }),
      t.api.get(`/users/${other.id}`, { token: user.accessToken }),
      t.api.post(`/users/${other.id}/approve`, undefined, { token: user.accessToken }),
      t.api.post(`/users/${other.id}/disable`, undefined, { token: user.accessToken }),
      t.api.post(`/users/${other.id}/enable`, undefined, { token: user.accessToken }),
    ];
    for (const res of await Promise.all(attempts)) {
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'FORBIDDEN');
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    }
    assert.equal((await t.api.get('/users')).status, 401);
    const [row] = await query<{ status: string }>(t.databaseUrl, 'SELECT status FROM users WHERE id = $1', [other.id]);
    assert.equal(row.status, 'active');
  });

  it('disables a user: their tokens stop working at once, sign-in answers 403, enabling lets them back', async () => {
    const user = await registerAndLogin(t.api);
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);

    const disabled = await t.api.post(`/users/${user.id}/disable`, undefined, { token: adminToken });
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.status, 'disabled');
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 401);
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: user.refreshToken })).status, 401);
    const [live] = await query<{ count: string }>(
      t.databaseUrl,
      'SELECT count(*) FROM refresh_sessions WHERE user_id = $1 AND revoked_at IS NULL',
      [user.id],
    );
    assert.equal(Number(live.count), 0);
    const refused = await t.api.post('/auth/login', { email: user.email, password: user.password });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'ACCOUNT_DISABLED');

    const enabled = await t.api.post(`/users/${user.id}/enable`, undefined, { token: adminToken });
    assert.equal(enabled.status, 200);
    assert.equal(enabled.body.status, 'active');
    assert.equal((await t.api.post('/auth/login', { email: user.email, password: user.password })).status, 200);
    // The old tokens stay dead: enabling does not bring ended sessions back.
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 401);

    const audit = await query<{ type: string; actor_id: string | null }>(
      t.databaseUrl,
      `SELECT type, actor_id FROM auth_events WHERE user_id = $1 AND type IN ('user.disabled', 'user.enabled') ORDER BY id`,
      [user.id],
    );
    assert.deepEqual(
      audit.map((r) => r.type),
      ['user.disabled', 'user.enabled'],
    );
    const [adminRow] = await query<{ id: string }>(t.databaseUrl, 'SELECT id FROM users WHERE email = $1', [
      ADMIN.email,
    ]);
    assert.ok(audit.every((r) => r.actor_id === adminRow.id));
  });

  it('refuses a disabled admin: their token stops working and sign-in answers 403 ACCOUNT_DISABLED', async () => {
    const second = await registerUser(t.api);
    await query(t.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [second.id]);
    const secondAdmin = await login(t.api, second);
    assert.equal((await t.api.get('/users', { token: secondAdmin.accessToken })).status, 200);

    assert.equal((await t.api.post(`/users/${second.id}/disable`, undefined, { token: adminToken })).status, 200);
    assert.equal((await t.api.get('/users', { token: secondAdmin.accessToken })).status, 401);
    const relogin = await t.api.post('/auth/login', { email: second.email, password: second.password });
    assert.equal(relogin.status, 403);
    assert.equal(relogin.body.code, 'ACCOUNT_DISABLED');
  });

  it('does not let an admin disable their own account', async () => {
    const [adminRow] = await query<{ id: string }>(t.databaseUrl, 'SELECT id FROM users WHERE email = $1', [
      ADMIN.email,
    ]);
    const res = await t.api.post(`/users/${adminRow.id}/disable`, undefined, { token: adminToken });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'FORBIDDEN');
    assert.equal((await t.api.get('/users/me', { token: adminToken })).status, 200);
  });
});

// Passport strategies are process-wide, so a second instance in this process is closed before the first.
describe('admin: creation at start', () => {
  it('creates no second admin when one exists', async () => {
    const first = await createTestApp({ env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } });
    try {
      const second = await createTestApp({
        databaseUrl: first.databaseUrl,
        env: { ADMIN_EMAIL: uniqueEmail('other-admin'), ADMIN_PASSWORD: GOOD_PASSWORD },
      });
      await second.close();
      const admins = await query<{ email: string }>(
        first.databaseUrl,
        `SELECT email FROM users WHERE 'admin' = ANY(roles)`,
      );
      assert.deepEqual(
        admins.map((a) => a.email),
        [ADMIN.email],
      );
    } finally {
      await first.close();
    }
  });

  it('never promotes an existing account that has the admin address', async () => {
    const first = await createTestApp();
    try {
      const squatter = await registerUser(first.api);
      const second = await createTestApp({
        databaseUrl: first.databaseUrl,
        env: { ADMIN_EMAIL: squatter.email, ADMIN_PASSWORD: GOOD_PASSWORD },
      });
      await second.close();
      const admins = await query(first.databaseUrl, `SELECT 1 FROM users WHERE 'admin' = ANY(roles)`);
      assert.equal(admins.length, 0);
    } finally {
      await first.close();
    }
  });
});

describe('admin: approval (REQUIRE_APPROVAL=true)', () => {
  let t: TestApp;
  let adminToken: string;
  before(async () => {
    t = await createTestApp({
      env: { REQUIRE_APPROVAL: 'true', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
    });
    adminToken = (await login(t.api, ADMIN)).accessToken;
  });
  after(() => t.close());

  it('keeps a new account pending until an admin approves it', async () => {
    const email = uniqueEmail('pending');
    const registered = await t.api.post('/auth/register', { email, password: GOOD_PASSWORD });
    assert.equal(registered.status, 201);
    assert.equal(registered.body.status, 'pending_approval');
    const id = registered.body.id as string;

    // 403 only after a correct password: a wrong one is the usual 401.
    const wrong = await t.api.post('/auth/login', { email, password: 'not the right password' });
    assert.equal(wrong.status, 401);
    const pending = await t.api.post('/auth/login', { email, password: GOOD_PASSWORD });
    assert.equal(pending.status, 403);
    assert.equal(pending.body.code, 'ACCOUNT_PENDING_APPROVAL');

    const listed = await t.api.get('/users?status=pending_approval', { token: adminToken });
    assert.ok(listed.body.items.some((u: { id: string }) => u.id === id));

    const approved = await t.api.post(`/users/${id}/approve`, undefined, { token: adminToken });
    assert.equal(approved.status, 200);
    assert.equal(approved.body.status, 'active');
    assert.equal((await t.api.post('/auth/login', { email, password: GOOD_PASSWORD })).status, 200);

    // Approving again changes nothing and records nothing new.
    const again = await t.api.post(`/users/${id}/approve`, undefined, { token: adminToken });
    assert.equal(again.status, 200);
    const audit = await query(
      t.databaseUrl,
      `SELECT 1 FROM auth_events WHERE user_id = $1 AND type = 'user.approved'`,
      [id],
    );
    assert.equal(audit.length, 1);
  });

  it('still creates the configured admin as active', async () => {
    const me = await t.api.get('/users/me', { token: adminToken });
    assert.equal(me.body.status, 'active');
  });
});
