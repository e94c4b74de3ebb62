import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { RedisService } from '../../src/redis/redis.service';
import {
  createInstancesSharingRedis,
  createTestApp,
  redisUrl,
  SKIP_WITHOUT_REDIS,
  TestApp,
} from '../utils/create-test-app';
import type { Http, HttpResponse } from '../utils/http';
import { LogCapture } from '../observability/log-capture';
import { eventually } from '../utils/eventually';
import { TcpProxy } from '../utils/tcp-proxy';

/** A login with an empty body: rejected with 400 before any password work, but still counted. */
function emptyLogin(api: Http, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return api.post('/auth/login', {}, { headers });
}

function assertRateLimited(res: HttpResponse, maxRetryAfter = 60): void {
  assert.equal(res.status, 429);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(res.body.code, 'RATE_LIMITED');
  assert.equal(res.body.status, 429);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxRetryAfter,
    `Retry-After ${retryAfter}`,
  );
}

describe('rate limits per client address', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_DEFAULT: '3' } });
  });
  after(() => t.close());

  it('refuses the 11th login request in a minute with 429 problem+json, Retry-After and RateLimit headers', async () => {
    for (let i = 1; i <= 10; i++) {
      const res = await emptyLogin(t.api);
      assert.equal(res.status, 400, `request ${i}`);
      assert.equal(res.headers.get('ratelimit-policy'), '"login";q=10;w=60');
      assert.match(res.headers.get('ratelimit') ?? '', new RegExp(`^"login";r=${10 - i};t=\\d+$`));
    }
    const refused = await emptyLogin(t.api);
    assertRateLimited(refused);
    assert.match(refused.headers.get('ratelimit') ?? '', /^"login";r=0;t=\d+$/);
    // Another group keeps its own budget.
    const register = await t.api.post('/auth/register', {});
    assert.equal(register.status, 400);
    assert.equal(register.headers.get('ratelimit-policy'), '"register";q=5;w=60');
  });

  it('counts every other API route against one default budget, and never limits health probes', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await t.api.get(i % 2 ? '/users/me' : '/auth/sessions')).status, 401);
    assertRateLimited(await t.api.get('/users/me'));
    assertRateLimited(await t.api.get('/auth/verify'));
    for (let i = 0; i < 5; i++) assert.notEqual((await t.root.get('/health/liveness')).status, 429);
  });

  it('ignores X-Forwarded-For when TRUST_PROXY=false, so a forged header cannot pick a fresh bucket', async () => {
    for (let i = 1; i <= 5; i++) {
      const res = await t.api.post('/auth/register', {}, { headers: { 'x-forwarded-for': `203.0.113.${i}` } });
      // The register request above already used one of the five.
      assert.equal(res.status, i < 5 ? 400 : 429, `request ${i}`);
    }
    assertRateLimited(await t.api.post('/auth/register', {}, { headers: { 'x-forwarded-for': '198.51.100.77' } }));
  });
});

describe('rate limits behind a proxy (TRUST_PROXY as a list)', () => {
  let trusted: TestApp;
  let untrusted: TestApp;
  before(async () => {
    const env = { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_LOGIN: '2' };
    trusted = await createTestApp({ env: { ...env, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' } });
    untrusted = await createTestApp({ env: { ...env, TRUST_PROXY: '10.0.0.0/8' }, databaseUrl: trusted.databaseUrl });
  });
  after(async () => {
    await untrusted.close();
    await trusted.close();
  });

  it('believes the client address a listed proxy reports, and only the part of the chain it vouches for', async () => {
    const client = { 'x-forwarded-for': '203.0.113.9' };
    assert.equal((await emptyLogin(trusted.api, client)).status, 400);
    assert.equal((await emptyLogin(trusted.api, client)).status, 400);
    assertRateLimited(await emptyLogin(trusted.api, client));
    // A different client behind the same proxy has its own budget...
    assert.equal((await emptyLogin(trusted.api, { 'x-forwarded-for': '203.0.113.10' })).status, 400);
    // ...but a hop the client wrote itself in front of its real address changes nothing.
    assertRateLimited(await emptyLogin(trusted.api, { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' }));
  });

  it('ignores X-Forwarded-For from a peer that is not a listed proxy', async () => {
    assert.equal((await emptyLogin(untrusted.api, { 'x-forwarded-for': '203.0.113.21' })).status, 400);
    assert.equal((await emptyLogin(untrusted.api, { 'x-forwarded-for': '203.0.113.22' })).status, 400);
    assertRateLimited(await emptyLogin(untrusted.api, { 'x-forwarded-for': '203.0.113.23' }));
  });
});

describe('rate limits across instances on one Redis', () => {
  it('shares one budget between two instances', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const [a, b] = await createInstancesSharingRedis({ RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_LOGIN: '4' });
    try {
      for (const api of [a.api, b.api, a.api, b.api]) assert.equal((await emptyLogin(api)).status, 400);
      assertRateLimited(await emptyLogin(a.api));
      assertRateLimited(await emptyLogin(b.api));
    } finally {
      await b.close();
      await a.close();
    }
  });

  it(
    'falls back to per-instance memory while Redis is down, and returns to Redis by itself',
    { skip: SKIP_WITHOUT_REDIS },
    async () => {
      const proxy = await TcpProxy.start(redisUrl()!);
      const prefix = `latch-edge-${randomBytes(4).toString('hex')}:`;
      const direct = new Redis(redisUrl()!);
      const logs = new LogCapture();
      const t = await createTestApp({
        env: {
          RATE_LIMIT_ENABLED: 'true',
          RATE_LIMIT_LOGIN: '2',
          REDIS_URL: proxy.urlFor(redisUrl()!),
          REDIS_KEY_PREFIX: prefix,
          LOG_LEVEL: 'info',
        },
        logDestination: logs,
      });
      const logged = (text: string) => logs.lines.filter((line) => String(line.msg ?? '').includes(text)).length;
      const redis = t.app.get(RedisService);
      const storedHits = async () => {
        const keys = await direct.keys(`${prefix}rl:*`);
        return keys.length ? Number(await direct.get(keys[0])) : 0;
      };
      try {
        await eventually(() => redis.available, { what: 'Redis through the proxy', timeoutMs: 10_000 });
        assert.equal((await emptyLogin(t.api)).status, 400);
        assert.equal(await storedHits(), 1);

        proxy.cut();
        await eventually(() => !redis.available, { what: 'the outage to be noticed', timeoutMs: 10_000 });
        // Counted in memory from scratch: limited again, never unlimited.
        assert.equal((await emptyLogin(t.api)).status, 400);
        assert.equal((await emptyLogin(t.api)).status, 400);
        assertRateLimited(await emptyLogin(t.api));
        assert.equal(await storedHits(), 1);
        assert.equal(logged("rate limits are counted in this instance's memory"), 1); // once, not per request

        proxy.restore();
        await eventually(() => redis.available, { what: 'the reconnection', timeoutMs: 10_000 });
        assert.equal((await emptyLogin(t.api)).status, 400);
        assert.equal(await storedHits(), 2); // counted in Redis again, on top of the count from before
        assertRateLimited(await emptyLogin(t.api));
        assert.equal(logged('rate limits are shared across instances again'), 1);
      } finally {
        await t.close();
        await proxy.close();
        direct.disconnect();
      }
    },
  );
});
