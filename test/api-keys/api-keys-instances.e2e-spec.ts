// API keys across instances sharing PostgreSQL and Redis: a deletion or a disabled owner is refused
// everywhere within a second, the per-key budget is shared, and a Redis outage does not stop keys.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { login, registerAndLogin, registerUser } from '../factories/users';
import { createInstancesSharingRedis, createTestApp, redisUrl, SKIP_WITHOUT_REDIS } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { TcpProxy } from '../utils/tcp-proxy';
import { RedisService } from '../../src/redis/redis.service';
import { createKey, problemCode, withKey } from './helpers';

describe('API keys across instances', { skip: SKIP_WITHOUT_REDIS }, () => {
  it("refuses a deleted key and a disabled owner's key on the other instance within 1 s", async () => {
    const [a, b] = await createInstancesSharingRedis({});
    try {
      const user = await registerAndLogin(a.api);
      const key = await createKey(a.api, user.accessToken, { scopes: ['profile'] });
      // Warm on both instances: each now answers from its cache, without PostgreSQL.
      assert.equal((await a.api.get('/users/me', withKey(key.key))).status, 200);
      assert.equal((await b.api.get('/users/me', withKey(key.key))).status, 200);
      assert.equal((await a.api.delete(`/api-keys/${key.id}`, { token: user.accessToken })).status, 204);
      await eventually(async () => (await b.api.get('/users/me', withKey(key.key))).status === 401, {
        what: 'the deleted key to be refused on the other instance',
        timeoutMs: 1000,
        intervalMs: 50,
      });

      const registered = await registerUser(a.api);
      await query(a.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [registered.id]);
      const admin = await login(a.api, registered);
      const victim = await registerAndLogin(a.api);
      const ofVictim = await createKey(a.api, victim.accessToken, { scopes: ['profile'] });
      assert.equal((await b.api.get('/users/me', withKey(ofVictim.key))).status, 200);
      assert.equal((await a.api.post(`/users/${victim.id}/disable`, {}, { token: admin.accessToken })).status, 200);
      await eventually(async () => (await b.api.get('/users/me', withKey(ofVictim.key))).status === 401, {
        what: "the disabled owner's key to be refused on the other instance",
        timeoutMs: 1000,
        intervalMs: 50,
      });
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('shares one per-key rate limit between instances', async () => {
    const [a, b] = await createInstancesSharingRedis({ RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_API_KEY: '4' });
    try {
      const user = await registerAndLogin(a.api);
      const key = await createKey(a.api, user.accessToken, { scopes: ['profile'] });
      const other = await createKey(a.api, user.accessToken, { scopes: ['profile'] });
      const statuses = [];
      for (const t of [a, b, a, b]) statuses.push((await t.api.get('/users/me', withKey(key.key))).status);
      assert.deepEqual(statuses, [200, 200, 200, 200]);
      const limited = await b.api.get('/auth/verify', withKey(key.key));
      assert.equal(limited.status, 429);
      assert.equal(problemCode(limited), 'RATE_LIMITED');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      assert.match(limited.headers.get('ratelimit-policy') ?? '', /"apiKey";q=4;w=60/);
      assert.equal((await a.api.get('/users/me', withKey(key.key))).status, 429);
      // Another key of the same user, from the same address, has its own budget.
      assert.equal((await a.api.get('/users/me', withKey(other.key))).status, 200);
      const metrics = (await b.root.get('/metrics')).text;
      assert.match(metrics, /latch_api_key_requests_total\{result="rate_limited"\} [1-9]/);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('keeps keys working from PostgreSQL and memory while Redis is down', async () => {
    const proxy = await TcpProxy.start(redisUrl()!);
    const t = await createTestApp({
      env: {
        REDIS_URL: proxy.urlFor(redisUrl()!),
        REDIS_KEY_PREFIX: `latch-keys-${randomBytes(4).toString('hex')}:`,
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_API_KEY: '3',
      },
    });
    const redis = t.app.get(RedisService);
    try {
      await eventually(() => redis.available, { what: 'Redis through the proxy', timeoutMs: 10_000 });
      const user = await registerAndLogin(t.api);
      const key = await createKey(t.api, user.accessToken, { scopes: ['profile'] });
      const doomed = await createKey(t.api, user.accessToken, { scopes: ['profile'] });
      assert.equal((await t.api.get('/users/me', withKey(key.key))).status, 200);

      proxy.cut();
      await eventually(() => !redis.available, { what: 'the outage to be noticed', timeoutMs: 10_000 });
      assert.equal((await t.api.get('/users/me', withKey(key.key))).status, 200);
      assert.equal((await t.api.get('/users/me', withKey(doomed.key))).status, 200);
      assert.equal((await t.api.delete(`/api-keys/${doomed.id}`, { token: user.accessToken })).status, 204);
      assert.equal((await t.api.get('/users/me', withKey(doomed.key))).status, 401);
      // Limited in this instance's memory, never unlimited.
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await t.api.get('/auth/verify', withKey(key.key))).status);
      assert.ok(statuses.includes(429), `limited in memory: ${statuses.join(', ')}`);
    } finally {
      proxy.restore();
      await t.close();
      await proxy.close();
    }
  });
});
