import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { CacheStats } from '../../src/modules/cache/cache-stats';
import { MEMORY_TTL_MS } from '../../src/modules/cache/state-cache.service';
import { LoggedIn, login, registerAndLogin } from '../factories/users';
import { createTestApp, redisUrl, SKIP_WITHOUT_REDIS, TestApp } from '../utils/create-test-app';
import { eventually } from '../utils/eventually';
import { TcpProxy } from '../utils/tcp-proxy';

const NEVER = '0 0 1 1 *';
const WITHIN_A_SECOND = 1000;

function sessionIdOf(accessToken: string): string {
  return JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8')).sid;
}

function stats(t: TestApp) {
  return t.app.get(CacheStats).snapshot();
}

/**
 * Counts the evictions the instances announce on the shared invalidation channel, per cache key,
 * so that a test can wait for an eviction it knows is coming instead of guessing how long it takes.
 */
class Evictions {
  private readonly seen = new Map<string, number>();
  private constructor(
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {}

  static async watch(url: string, prefix: string): Promise<Evictions> {
    const subscriber = new Redis(url);
    const evictions = new Evictions(subscriber, prefix);
    subscriber.on('message', (_channel: string, message: string) => {
      for (const key of (JSON.parse(message) as { keys: string[] }).keys) {
        evictions.seen.set(key, (evictions.seen.get(key) ?? 0) + 1);
      }
    });
    await subscriber.subscribe(`${prefix}cache:invalidate`);
    return evictions;
  }

  /** How many times the cached user has been evicted so far. */
  ofUser(userId: string): number {
    return this.seen.get(`${this.prefix}cache:user:${createHash('sha256').update(userId).digest('hex')}`) ?? 0;
  }

  close(): void {
    this.subscriber.disconnect();
  }
}

// Two instances over one database and one Redis (same REDIS_KEY_PREFIX), as behind a load
// balancer. Instance B reaches Redis through a proxy, so that its Redis can be cut alone.
// Note: both run in this one process, and passport keeps strategies in a process-wide registry,
// so bearer tokens are checked by the JWT strategy of the instance created last (B) on both
// ports. Changes are therefore made through A (A's services evict and publish) and checked on B.
describe('state cache shared by two instances', () => {
  const prefix = `latch-ops-${randomBytes(4).toString('hex')}:`;
  let a: TestApp;
  let b: TestApp;
  let redisProxy: TcpProxy;
  let redis: Redis;
  let evictions: Evictions;

  before(async () => {
    if (SKIP_WITHOUT_REDIS) return;
    const url = redisUrl() as string;
    redisProxy = await TcpProxy.start(url);
    a = await createTestApp({ env: { REDIS_URL: url, REDIS_KEY_PREFIX: prefix, TOKEN_CLEANUP_CRON: NEVER } });
    b = await createTestApp({
      databaseUrl: a.databaseUrl,
      env: { REDIS_URL: redisProxy.urlFor(url), REDIS_KEY_PREFIX: prefix, TOKEN_CLEANUP_CRON: NEVER },
    });
    redis = new Redis(url);
    evictions = await Evictions.watch(url, prefix);
  });

  after(async () => {
    redisProxy?.restore();
    await b?.close();
    await a?.close();
    await redisProxy?.close();
    evictions?.close();
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  /**
   * Logs in through A and lets the last-login write settle: that write (after the response) evicts
   * the cached user, and StateCache repeats every eviction once a moment later. Both evictions are
   * announced on the invalidation channel; once both are seen, reads of this user stay warm.
   */
  async function signedIn(): Promise<LoggedIn> {
    const user = await registerAndLogin(a.api);
    await eventually(() => evictions.ofUser(user.id) >= 2, {
      what: "the last-login write's eviction of the user and its repeat",
    });
    return user;
  }

  it(
    'serves a warm token from memory, then from Redis, and counts hits and misses',
    { skip: SKIP_WITHOUT_REDIS },
    async () => {
      const user = await signedIn();
      const verify = async () =>
        assert.equal((await b.api.get('/auth/verify', { token: user.accessToken })).status, 200);
      await verify();
      const before = stats(b);
      await verify();
      await verify();
      const warm = stats(b);
      assert.ok(warm.session.hitsByTier.memory - before.session.hitsByTier.memory >= 2, JSON.stringify(warm));
      assert.equal(warm.session.misses, before.session.misses, 'a warm token costs no look-up in PostgreSQL');
      assert.equal(warm.user.misses, before.user.misses, 'nor does its user');
      // Once this instance's one-second memory copy is gone, Redis answers, still without PostgreSQL.
      // The copy's life must be waited out: a read before it ends would be (rightly) a memory hit.
      await sleep(MEMORY_TTL_MS + 100);
      await verify();
      const later = stats(b);
      assert.ok(later.session.hitsByTier.shared > warm.session.hitsByTier.shared, JSON.stringify(later));
      assert.equal(later.session.misses, before.session.misses);
    },
  );

  it('keys the cache by SHA-256 digests, never by a token or an id', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const user = await signedIn();
    assert.equal((await a.api.get('/auth/verify', { token: user.accessToken })).status, 200);
    const keys = await redis.keys(`${prefix}cache:*`);
    assert.ok(keys.length >= 2, `cache keys exist: ${keys.join(', ')}`);
    const secrets = [user.accessToken, user.refreshToken, sessionIdOf(user.accessToken), user.id];
    for (const key of keys) {
      assert.match(key.slice(prefix.length), /^cache:(session|user):[0-9a-f]{64}$|^cache:invalidate$/);
      for (const secret of secrets) assert.ok(!key.includes(secret), `key ${key} contains a raw value`);
    }
    for (const key of keys) {
      const value = await redis.get(key);
      assert.ok(!value?.includes(user.accessToken) && !value?.includes(user.refreshToken), 'no token in values');
      assert.ok(!value?.includes('passwordHash'), 'no password hash in values');
    }
  });

  it('refuses on B, within a second, a session logged out through A', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const user = await signedIn();
    for (let i = 0; i < 2; i++)
      assert.equal((await b.api.get('/auth/verify', { token: user.accessToken })).status, 200);
    assert.equal((await a.api.post('/auth/logout', undefined, { token: user.accessToken })).status, 204);
    await eventually(async () => (await b.api.get('/auth/verify', { token: user.accessToken })).status === 401, {
      what: 'B to refuse the logged-out token',
      timeoutMs: WITHIN_A_SECOND,
    });
  });

  it(
    'refuses on B, within a second, sessions ended by logout-all and by deletion on A',
    { skip: SKIP_WITHOUT_REDIS },
    async () => {
      const user = await signedIn();
      const second = await login(a.api, user);
      const third = await login(a.api, user);
      for (const token of [user.accessToken, second.accessToken, third.accessToken]) {
        assert.equal((await b.api.get('/auth/verify', { token })).status, 200);
        assert.equal((await b.api.get('/auth/verify', { token })).status, 200);
      }
      const sid = sessionIdOf(third.accessToken);
      assert.equal((await a.api.delete(`/auth/sessions/${sid}`, { token: user.accessToken })).status, 204);
      await eventually(async () => (await b.api.get('/auth/verify', { token: third.accessToken })).status === 401, {
        what: 'B to refuse the deleted session',
        timeoutMs: WITHIN_A_SECOND,
      });
      assert.equal((await a.api.post('/auth/logout-all', undefined, { token: second.accessToken })).status, 204);
      await eventually(
        async () => {
          const results = await Promise.all(
            [user.accessToken, second.accessToken].map((token) => b.api.get('/auth/verify', { token })),
          );
          return results.every((r) => r.status === 401);
        },
        { what: 'B to refuse every session after logout-all', timeoutMs: WITHIN_A_SECOND },
      );
    },
  );

  it('shows on B, within a second, a profile change made through A', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const user = await signedIn();
    assert.equal((await b.api.get('/users/me', { token: user.accessToken })).body.displayName, null);
    assert.equal((await b.api.get('/users/me', { token: user.accessToken })).body.displayName, null);
    const renamed = await a.api.patch('/users/me', { displayName: 'Grace' }, { token: user.accessToken });
    assert.equal(renamed.status, 200);
    await eventually(
      async () => (await b.api.get('/users/me', { token: user.accessToken })).body.displayName === 'Grace',
      { what: 'B to show the new display name', timeoutMs: WITHIN_A_SECOND },
    );
  });

  it(
    'keeps serving with its Redis cut, and uses Redis again when it is back',
    { skip: SKIP_WITHOUT_REDIS },
    async (ctx) => {
      const user = await signedIn();
      const victim = await login(a.api, user);
      for (let i = 0; i < 2; i++)
        assert.equal((await a.api.get('/auth/verify', { token: victim.accessToken })).status, 200);

      redisProxy.cut();
      await eventually(
        async () => {
          const ready = await b.root.get('/health/readiness');
          return ready.status === 200 && ready.body.details.redis.status === 'degraded';
        },
        { what: 'B to report Redis degraded' },
      );
      // Everything still works on B, from PostgreSQL and memory.
      const started = Date.now();
      const fresh = await login(b.api, user);
      assert.equal((await b.api.get('/auth/verify', { token: fresh.accessToken })).status, 200);
      assert.equal((await b.api.get('/users/me', { token: fresh.accessToken })).status, 200);
      assert.ok(Date.now() - started < 5000, 'no request waited on Redis');
      // A revocation made while B cannot reach Redis is replayed there when it returns.
      assert.equal((await b.api.post('/auth/logout', undefined, { token: victim.accessToken })).status, 204);
      assert.equal((await b.api.get('/auth/verify', { token: victim.accessToken })).status, 401);

      redisProxy.restore();
      const restored = Date.now();
      await eventually(async () => (await b.root.get('/health/readiness')).body.details.redis.status === 'up', {
        what: 'B to report Redis up again',
        timeoutMs: 10_000,
      });
      ctx.diagnostic(`Redis in use again ${Date.now() - restored} ms after it came back`);
      await eventually(async () => (await a.api.get('/auth/verify', { token: victim.accessToken })).status === 401, {
        what: 'A to refuse the session B ended while cut off',
      });
      // Reads are memory hits until B's memory copy expires; the next one must come from Redis.
      const sharedBefore = stats(b).session.hitsByTier.shared;
      await eventually(
        async () => {
          await b.api.get('/auth/verify', { token: fresh.accessToken });
          return stats(b).session.hitsByTier.shared > sharedBefore;
        },
        { what: 'B to read the shared tier again', intervalMs: 100 },
      );
    },
  );
});

describe('an instance whose Redis is down from the start', () => {
  it(
    'starts, serves from PostgreSQL and memory, and shuts down within 10 s',
    { skip: SKIP_WITHOUT_REDIS },
    async (ctx) => {
      const proxy = await TcpProxy.start(redisUrl() as string);
      proxy.cut();
      let t: TestApp | undefined;
      try {
        const started = Date.now();
        t = await createTestApp({ env: { REDIS_URL: proxy.urlFor(redisUrl() as string), TOKEN_CLEANUP_CRON: NEVER } });
        ctx.diagnostic(`started in ${Date.now() - started} ms with Redis unreachable`);
        const user = await registerAndLogin(t.api);
        assert.equal((await t.api.get('/auth/verify', { token: user.accessToken })).status, 200);
        const ready = await t.root.get('/health/readiness');
        assert.equal(ready.status, 200);
        assert.equal(ready.body.status, 'degraded');
        assert.equal(ready.body.details.redis.status, 'degraded');
        const closing = Date.now();
        await t.close();
        t = undefined;
        const took = Date.now() - closing;
        ctx.diagnostic(`closed in ${took} ms`);
        assert.ok(took < 10_000, `closed within 10 s (took ${took} ms)`);
      } finally {
        await t?.close();
        await proxy.close();
      }
    },
  );
});
