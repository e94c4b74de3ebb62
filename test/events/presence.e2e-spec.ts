import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, login, registerAndLogin, registerUser, uniqueEmail } from '../factories/users';
import { createTestApp, SKIP_WITHOUT_REDIS, TestApp } from '../utils/create-test-app';
import { openSse } from '../utils/sse';

interface PresenceEvent {
  userId: string;
  status: 'online' | 'offline';
  at: string;
}

const ADMIN = { email: uniqueEmail('presence-admin'), password: GOOD_PASSWORD };
const adminEnv = { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password };

describe('presence stream', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: adminEnv });
  });
  after(() => t.close());

  it('shows an admin who comes online and goes offline, live', async () => {
    const admin = await login(t.api, { id: '', ...ADMIN });
    const stream = await openSse<PresenceEvent>(`${t.api.baseUrl}/users/presence/stream`, admin.accessToken);
    try {
      assert.equal(stream.status, 200);
      assert.match(stream.contentType, /^text\/event-stream/);

      const user = await registerUser(t.api);
      const session = await login(t.api, user);
      const online = await stream.next((e) => e.userId === user.id);
      assert.equal(online.status, 'online');
      assert.ok(Math.abs(Date.parse(online.at) - Date.now()) < 60_000);

      assert.equal((await t.api.post('/auth/logout', undefined, { token: session.accessToken })).status, 204);
      const offline = await stream.next((e) => e.userId === user.id);
      assert.equal(offline.status, 'offline');
    } finally {
      stream.close();
    }
  });

  it('says offline only when the last session ends', async () => {
    const admin = await login(t.api, { id: '', ...ADMIN });
    const stream = await openSse<PresenceEvent>(`${t.api.baseUrl}/users/presence/stream`, admin.accessToken);
    try {
      const user = await registerUser(t.api);
      const first = await login(t.api, user);
      const second = await login(t.api, user);
      await stream.next((e) => e.userId === user.id && e.status === 'online');
      await stream.next((e) => e.userId === user.id && e.status === 'online');
      await t.api.post('/auth/logout', undefined, { token: first.accessToken });
      await t.api.post('/auth/logout', undefined, { token: second.accessToken });
      const next = await stream.next((e) => e.userId === user.id);
      assert.equal(next.status, 'offline', 'the first logout left a session, so no offline for it');
      await assert.rejects(stream.next((e) => e.userId === user.id, 300));
    } finally {
      stream.close();
    }
  });

  it('is for admins only', async () => {
    const user = await registerAndLogin(t.api);
    const forbidden = await t.api.get('/users/presence/stream', { token: user.accessToken });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.code, 'FORBIDDEN');
    const anonymous = await t.api.get('/users/presence/stream');
    assert.equal(anonymous.status, 401);
  });

  it('ends the stream when the session that opened it ends', async () => {
    const admin = await login(t.api, { id: '', ...ADMIN });
    const stream = await openSse<PresenceEvent>(`${t.api.baseUrl}/users/presence/stream`, admin.accessToken);
    try {
      assert.equal((await t.api.post('/auth/logout', undefined, { token: admin.accessToken })).status, 204);
      await assert.rejects(
        stream.next(() => false, 5000),
        /the event stream ended/,
      );
    } finally {
      stream.close();
    }
  });
});

describe('presence across instances', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    if (SKIP_WITHOUT_REDIS) return;
    const prefix = `latch-test-${randomBytes(4).toString('hex')}:`;
    const redis = { REDIS_URL: process.env.REDIS_URL as string, REDIS_KEY_PREFIX: prefix };
    a = await createTestApp({ env: { ...adminEnv, ...redis } });
    b = await createTestApp({ databaseUrl: a.databaseUrl, env: { ...adminEnv, ...redis } });
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('reaches an admin on another instance through Redis pub/sub', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const admin = await login(b.api, { id: '', ...ADMIN });
    const stream = await openSse<PresenceEvent>(`${b.api.baseUrl}/users/presence/stream`, admin.accessToken);
    try {
      assert.equal(stream.status, 200);
      const user = await registerAndLogin(a.api);
      const online = await stream.next((e) => e.userId === user.id);
      assert.equal(online.status, 'online');
      await a.api.post('/auth/logout-all', undefined, { token: user.accessToken });
      const offline = await stream.next((e) => e.userId === user.id);
      assert.equal(offline.status, 'offline');
    } finally {
      stream.close();
    }
  });
});
