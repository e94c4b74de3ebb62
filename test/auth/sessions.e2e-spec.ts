import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login, registerUser } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';

describe('sessions, logout and verify', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('logout ends this session at once: its access and refresh tokens stop working', async () => {
    const user = await registerUser(t.api);
    const a = await login(t.api, user);
    const b = await login(t.api, user);
    const res = await t.api.post('/auth/logout', undefined, { token: a.accessToken });
    assert.equal(res.status, 204);
    assert.equal((await t.api.get('/users/me', { token: a.accessToken })).status, 401);
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: a.refreshToken })).status, 401);
    // Another session of the same user is untouched.
    assert.equal((await t.api.get('/users/me', { token: b.accessToken })).status, 200);
  });

  it('logout-all ends every session of the user', async () => {
    const user = await registerUser(t.api);
    const a = await login(t.api, user);
    const b = await login(t.api, user);
    assert.equal((await t.api.post('/auth/logout-all', undefined, { token: a.accessToken })).status, 204);
    for (const s of [a, b]) {
      assert.equal((await t.api.get('/users/me', { token: s.accessToken })).status, 401);
      assert.equal((await t.api.post('/auth/refresh', { refreshToken: s.refreshToken })).status, 401);
    }
  });

  it('lists live sessions with the current one marked', async () => {
    const user = await registerUser(t.api);
    const a = await login(t.api, user, { 'user-agent': 'phone/1.0' });
    await login(t.api, user, { 'user-agent': 'laptop/2.0' });
    const res = await t.api.get('/auth/sessions', { token: a.accessToken });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 2);
    const current = res.body.filter((s: { current: boolean }) => s.current);
    assert.equal(current.length, 1);
    assert.equal(current[0].userAgent, 'phone/1.0');
    assert.equal(current[0].ip, '127.0.0.1');
    for (const s of res.body) {
      assert.deepEqual(Object.keys(s).sort(), [
        'createdAt',
        'current',
        'expiresAt',
        'id',
        'ip',
        'lastUsedAt',
        'userAgent',
      ]);
    }
  });

  it('deletes only your own sessions; others are 404', async () => {
    const alice = await login(t.api, await registerUser(t.api));
    const bob = await login(t.api, await registerUser(t.api));
    const bobSessions = await t.api.get('/auth/sessions', { token: bob.accessToken });
    const bobSession = bobSessions.body[0].id;
    const foreign = await t.api.delete(`/auth/sessions/${bobSession}`, { token: alice.accessToken });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 'NOT_FOUND');
    assert.equal((await t.api.delete('/auth/sessions/not-a-uuid', { token: alice.accessToken })).status, 404);
    const own = await t.api.delete(`/auth/sessions/${bobSession}`, { token: bob.accessToken });
    assert.equal(own.status, 204);
    assert.equal((await t.api.get('/users/me', { token: bob.accessToken })).status, 401);
  });

  it('verify describes a valid token for other services', async () => {
    const user = await login(t.api, await registerUser(t.api));
    const res = await t.api.get('/auth/verify', { token: user.accessToken });
    assert.equal(res.status, 200);
    assert.equal(res.body.valid, true);
    assert.equal(res.body.userId, user.id);
    assert.deepEqual(res.body.roles, ['user']);
    const sessions = await t.api.get('/auth/sessions', { token: user.accessToken });
    assert.equal(res.body.sessionId, sessions.body[0].id);
    assert.ok(Date.parse(res.body.expiresAt) > Date.now());
  });

  it('updates the profile and refuses a taken username', async () => {
    const a = await login(t.api, await registerUser(t.api));
    const b = await login(t.api, await registerUser(t.api));
    const res = await t.api.patch(
      '/users/me',
      { username: 'Grace_H', displayName: '  Grace Hopper ' },
      { token: a.accessToken },
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.username, 'Grace_H');
    assert.equal(res.body.displayName, 'Grace Hopper');
    const me = await t.api.get('/users/me', { token: a.accessToken });
    assert.equal(me.body.username, 'Grace_H');
    const taken = await t.api.patch('/users/me', { username: 'grace_h' }, { token: b.accessToken });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.code, 'USERNAME_TAKEN');
    const cleared = await t.api.patch('/users/me', { displayName: null }, { token: a.accessToken });
    assert.equal(cleared.body.displayName, null);
    const bad = await t.api.patch('/users/me', { username: 'a b' }, { token: a.accessToken });
    assert.equal(bad.status, 400);
    const unknown = await t.api.patch('/users/me', { email: 'x@example.com' }, { token: a.accessToken });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, 'VALIDATION_FAILED');
  });
});
