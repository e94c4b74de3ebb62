// The presence stream lives only as long as its admin may watch it: not past a logout on another
// instance, a disabled account, or the access token's expiry (docs/api.md, Presence).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, login, LoggedIn, registerUser, uniqueEmail } from '../factories/users';
import { createInstancesSharingRedis, createTestApp, SKIP_WITHOUT_REDIS, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import type { Http } from '../utils/http';
import { openSse, SseClient } from '../utils/sse';

const ADMIN = { id: '', email: uniqueEmail('presence-admin'), password: GOOD_PASSWORD };
const adminEnv = { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password };

/** Milliseconds until the stream ends, failing if it is still open after `withinMs`. */
async function endsWithin(stream: SseClient<unknown>, withinMs: number): Promise<number> {
  const started = Date.now();
  await assert.rejects(
    stream.next(() => false, withinMs),
    /the event stream ended/,
    `stream still open after ${withinMs} ms`,
  );
  return Date.now() - started;
}

async function openStream(api: Http, token: string): Promise<SseClient<unknown>> {
  const stream = await openSse(`${api.baseUrl}/users/presence/stream`, token);
  assert.equal(stream.status, 200);
  return stream;
}

async function loginAdmin(api: Http): Promise<LoggedIn> {
  const admin = await login(api, ADMIN);
  const me = await api.get('/users/me', { token: admin.accessToken });
  return { ...admin, id: me.body.id };
}

describe('presence stream lifetime across instances', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    if (SKIP_WITHOUT_REDIS) return;
    [a, b] = await createInstancesSharingRedis(adminEnv);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('ends within 1 s when its admin logs out on another instance', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const admin = await loginAdmin(a.api);
    const stream = await openStream(a.api, admin.accessToken);
    try {
      assert.equal((await b.api.post('/auth/logout', undefined, { token: admin.accessToken })).status, 204);
      await endsWithin(stream, 1000);
    } finally {
      stream.close();
    }
  });

  it('ends within 1 s when another admin disables its admin', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const watcher = await loginAdmin(a.api);
    const other = await registerUser(b.api);
    await query(b.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [other.id]);
    const otherAdmin = await login(b.api, other);
    const stream = await openStream(a.api, watcher.accessToken);
    try {
      const disabled = await b.api.post(`/users/${watcher.id}/disable`, undefined, { token: otherAdmin.accessToken });
      assert.equal(disabled.status, 200);
      await endsWithin(stream, 1000);
    } finally {
      stream.close();
      await b.api.post(`/users/${watcher.id}/enable`, undefined, { token: otherAdmin.accessToken });
    }
  });

  it('keeps streaming to an admin whose other session ends', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const watching = await loginAdmin(a.api);
    const elsewhere = await loginAdmin(b.api);
    const stream = await openStream(a.api, watching.accessToken);
    try {
      assert.equal((await b.api.post('/auth/logout', undefined, { token: elsewhere.accessToken })).status, 204);
      const user = await registerUser(b.api);
      await login(b.api, user);
      const online = (await stream.next((e) => (e as { userId: string }).userId === user.id, 3000)) as {
        status: string;
      };
      assert.equal(online.status, 'online');
    } finally {
      stream.close();
    }
  });
});

describe('presence stream and the access token expiry', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { ...adminEnv, JWT_ACCESS_TTL: '2' } });
  });
  after(() => t.close());

  it('ends at the access token exp', async () => {
    const admin = await login(t.api, ADMIN);
    const exp = (JSON.parse(Buffer.from(admin.accessToken.split('.')[1], 'base64url').toString()) as { exp: number })
      .exp;
    const stream = await openStream(t.api, admin.accessToken);
    try {
      await endsWithin(stream, exp * 1000 - Date.now() + 1000);
      const endedAt = Date.now();
      assert.ok(endedAt >= exp * 1000 - 100, `ended ${exp * 1000 - endedAt} ms before exp`);
    } finally {
      stream.close();
    }
  });
});
