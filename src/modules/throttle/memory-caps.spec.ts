// Without Redis the limits live in this instance's memory: a flood of fresh names or addresses
// must neither grow that memory without bound nor push out the counter of a held-back victim.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigService } from '@nestjs/config';
import type { LatchConfig } from '../../config/configuration';
import type { RedisService } from '../../redis/redis.service';
import { FREE_FAILURES, LoginProtectionService } from './login-protection.service';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const noRedis = {
  client: null,
  available: false,
  key: (...parts: string[]) => parts.join(':'),
} as unknown as RedisService;
const config = {
  get: (namespace: string) => (namespace === 'auth' ? { jwtAccessSecret: 'x'.repeat(32) } : { enabled: true }),
} as unknown as ConfigService<LatchConfig, true>;
const FLOOD = 110_000;

describe('in-memory limits under a flood', () => {
  it('keeps a held-back account waiting while a flood of other names passes through', async () => {
    const protection = new LoginProtectionService(noRedis, config);
    const victim = protection.nameCounter('victim@example.com');
    try {
      for (let i = 0; i < FREE_FAILURES; i++) await protection.admit(victim);
      await assert.rejects(protection.admit(victim), { code: 'RATE_LIMITED' });
      for (let i = 0; i < FLOOD; i++) await protection.admit(protection.nameCounter(`flood-${i}@example.com`));
      // The first wait (1 s) may have passed during the flood; the count must not have restarted.
      const next = await protection.admit(victim).then(
        () => 'admitted',
        () => 'refused',
      );
      if (next === 'admitted') {
        await assert.rejects(protection.admit(victim), { code: 'RATE_LIMITED' });
      }
      const memory = (protection as unknown as { memory: { size: number } }).memory;
      assert.ok(memory.size <= 100_000, `size ${memory.size}`);
    } finally {
      protection.onApplicationShutdown();
    }
  });

  it('caps the rate-limit windows and keeps the one that is over its limit', async () => {
    const storage = new RedisThrottlerStorage(noRedis);
    try {
      for (let i = 0; i < 3; i++) await storage.increment('login:198.51.100.7', 60_000, 2);
      for (let i = 0; i < FLOOD; i++) await storage.increment(`login:flood-${i}`, 60_000, 2);
      const record = await storage.increment('login:198.51.100.7', 60_000, 2);
      assert.equal(record.isBlocked, true);
      assert.equal(record.totalHits, 4);
      const memory = (storage as unknown as { memory: { size: number } }).memory;
      assert.ok(memory.size <= 100_000, `size ${memory.size}`);
    } finally {
      storage.onApplicationShutdown();
    }
  });
});
