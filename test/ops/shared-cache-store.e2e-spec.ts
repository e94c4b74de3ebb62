// The state cache's shared tier as the application builds it: cache-manager over Keyv over the
// ioredis store, on a connection from RedisService.duplicate(), against a real Redis.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConsoleLogger, Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { createCache, type Cache } from 'cache-manager';
import Redis from 'ioredis';
import type { Keyv } from 'keyv';
import type { LatchConfig } from '../../src/config/configuration';
import { redisStore, RedisKeyvStore } from '../../src/modules/cache/cache-stores';
import { RedisService } from '../../src/redis/redis.service';
import { redisUrl, SKIP_WITHOUT_REDIS } from '../utils/create-test-app';
import { eventually } from '../utils/eventually';
import { TcpProxy } from '../utils/tcp-proxy';

/** Well under a second: what "at once" means for a cache read while Redis is down. */
const AT_ONCE_MS = 200;

function redisService(url: string): RedisService {
  const config = { get: () => ({ url, keyPrefix: 'unused:' }) } as unknown as ConfigService<LatchConfig, true>;
  return new RedisService(config);
}

/** The shared tier as StateCacheModule builds it, and the Keyv, store and connection beneath it. */
function sharedTier(service: RedisService): { cache: Cache; keyv: Keyv; store: RedisKeyvStore; connection: Redis } {
  const connection = service.duplicate('cache') as Redis;
  const keyv = redisStore(connection);
  const cache = createCache({ stores: [keyv as never] });
  return { cache, keyv, store: keyv.store as RedisKeyvStore, connection };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function elapsed(work: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await work();
  return Date.now() - started;
}

describe('the shared cache store over ioredis', () => {
  const prefix = `latch-store-${randomBytes(4).toString('hex')}:`;
  let service: RedisService;
  let tier: ReturnType<typeof sharedTier>;
  let redis: Redis;

  before(async () => {
    if (SKIP_WITHOUT_REDIS) return;
    service = redisService(redisUrl() as string);
    tier = sharedTier(service);
    redis = new Redis(redisUrl() as string);
    await eventually(() => tier.connection.status === 'ready', { what: 'the cache connection to be ready' });
  });

  after(async () => {
    if (SKIP_WITHOUT_REDIS) return;
    await tier.cache.disconnect();
    await service.onApplicationShutdown();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(keys);
    redis.disconnect();
  });

  it('stores a value under the key as given, with its TTL in milliseconds', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const key = `${prefix}one`;
    await tier.cache.set(key, '{"id":1}', 5_000);
    assert.equal(await tier.cache.get(key), '{"id":1}');
    const stored = JSON.parse((await redis.get(key)) as string) as { value: string; expires: number };
    assert.equal(stored.value, '{"id":1}', "Keyv's entry, under exactly that key");
    const pttl = await redis.pttl(key);
    assert.ok(pttl > 4_000 && pttl <= 5_000, `PTTL ${pttl}`);
  });

  it('forgets an entry once its TTL has passed', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const key = `${prefix}short`;
    await tier.cache.set(key, 'soon gone', 100);
    assert.equal(await tier.cache.get(key), 'soon gone');
    await eventually(async () => (await redis.exists(key)) === 0, {
      what: 'Redis to expire the key',
      timeoutMs: 2_000,
    });
    assert.equal(await tier.cache.get(key), undefined);
  });

  it('deletes, and reads and deletes several keys in one command', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const keys = ['a', 'b', 'c'].map((k) => `${prefix}many:${k}`);
    for (const key of keys) await tier.cache.set(key, key, 5_000);
    const commands: string[] = [];
    const send = tier.connection.sendCommand.bind(tier.connection);
    tier.connection.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      commands.push(command.name);
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof tier.connection.sendCommand;
    try {
      assert.deepEqual(await tier.cache.mget([...keys, `${prefix}many:absent`]), [...keys, undefined]);
      assert.equal(await tier.keyv.delete(keys.slice(0, 2)), true);
      assert.deepEqual(commands, ['mget', 'del']);
    } finally {
      tier.connection.sendCommand = send;
    }
    assert.equal(await redis.exists(keys), 1);
    assert.equal(await tier.store.has(keys[2]), true);
    await tier.cache.mdel([keys[2]]);
    assert.equal(await tier.store.has(keys[2]), false);
    assert.equal(await tier.store.delete(keys[2]), false, 'deleting an absent key says so');
  });

  it('sets several entries in one pipeline, each with its TTL', { skip: SKIP_WITHOUT_REDIS }, async () => {
    await tier.store.setMany([
      { key: `${prefix}set:x`, value: 'x', ttl: 5_000 },
      { key: `${prefix}set:y`, value: 'y' },
    ]);
    assert.deepEqual(await redis.mget(`${prefix}set:x`, `${prefix}set:y`), ['x', 'y']);
    assert.ok((await redis.pttl(`${prefix}set:x`)) > 4_000);
    assert.equal(await redis.pttl(`${prefix}set:y`), -1, 'no TTL: kept until deleted');
  });

  it('refuses to empty the keyspace it shares with every instance', { skip: SKIP_WITHOUT_REDIS }, async () => {
    await assert.rejects(tier.store.clear(), /cannot be cleared/);
  });
});

describe('the shared cache store while Redis is unreachable', () => {
  it('fails at once, as a miss, and closes without waiting', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const service = redisService(`redis://127.0.0.1:${await closedPort()}`);
    const { cache, store } = sharedTier(service);
    try {
      const took = await elapsed(() => assert.rejects(store.get('latch-down:key')));
      assert.ok(took < AT_ONCE_MS, `the store rejected after ${took} ms`);
      assert.ok((await elapsed(() => assert.rejects(store.set('latch-down:key', 'v', 1_000)))) < AT_ONCE_MS);
      assert.ok((await elapsed(() => assert.rejects(store.deleteMany(['latch-down:a', 'latch-down:b'])))) < AT_ONCE_MS);
      const read = await elapsed(async () => assert.equal(await cache.get('latch-down:key'), undefined));
      assert.ok(read < AT_ONCE_MS, `cache-manager answered a miss after ${read} ms`);
      assert.ok((await elapsed(() => cache.disconnect())) < AT_ONCE_MS, 'disconnect does not wait for Redis');
    } finally {
      await service.onApplicationShutdown();
    }
  });

  it('reconnects by itself after an outage, and says so', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const logged: string[] = [];
    const keep = (message: unknown) => void logged.push(String(message));
    Logger.overrideLogger({ log: keep, error: keep, warn: keep });
    const proxy = await TcpProxy.start(redisUrl() as string);
    const service = redisService(proxy.urlFor(redisUrl() as string));
    const { cache, store, connection } = sharedTier(service);
    const key = `latch-store-${randomBytes(4).toString('hex')}:back`;
    try {
      await eventually(() => connection.status === 'ready', { what: 'the cache connection to be ready' });
      await cache.set(key, 'before', 5_000);
      proxy.cut();
      await eventually(() => connection.status !== 'ready', { what: 'the cache connection to notice the cut' });
      const took = await elapsed(() => assert.rejects(store.get(key)));
      assert.ok(took < AT_ONCE_MS, `the store rejected after ${took} ms`);
      proxy.restore();
      await eventually(async () => (await cache.get(key)) === 'before', {
        what: 'the cache to read Redis again',
        timeoutMs: 10_000,
      });
      assert.deepEqual(
        logged.filter((line) => line.includes('Shared cache')),
        ['Shared cache connection to Redis is back'],
      );
      await store.delete(key);
    } finally {
      Logger.overrideLogger(new ConsoleLogger());
      await cache.disconnect();
      await service.onApplicationShutdown();
      await proxy.close();
    }
  });

  it('closes within about a second when Redis stops answering', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const proxy = await TcpProxy.start(redisUrl() as string);
    const service = redisService(proxy.urlFor(redisUrl() as string));
    const { cache, connection } = sharedTier(service);
    try {
      await eventually(() => connection.status === 'ready', { what: 'the cache connection to be ready' });
      proxy.freeze();
      const took = await elapsed(() => cache.disconnect());
      assert.ok(took >= 900 && took < 1_500, `disconnect took ${took} ms`);
      await eventually(() => connection.status === 'end', { what: 'the connection to be closed for good' });
    } finally {
      await service.onApplicationShutdown();
      await proxy.close();
    }
  });
});
