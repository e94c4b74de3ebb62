// Rate-limit counters for @nestjs/throttler: fixed windows kept in Redis, so that every instance
// counts against the same budget, with per-instance memory while Redis is unavailable. A client
// over its limit stays refused until its window ends; the window length is the Retry-After.
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { RedisService } from '../../redis/redis.service';
import { BoundedCounterMap } from './bounded-counter-map';
import { CounterStore } from './counter-store';

// One round trip, atomic: count the hit and start the window on the first one.
const HIT_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { hits, ttl }
`;

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

const MEMORY_SWEEP_MS = 60_000;
/** Windows kept in memory while Redis is away; see BoundedCounterMap for what goes when full. */
const MEMORY_MAX_WINDOWS = 100_000;

interface Window {
  hits: number;
  limit: number;
  expiresAt: number;
}

@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly store: CounterStore;
  private readonly memory = new BoundedCounterMap<Window>(MEMORY_MAX_WINDOWS, (window) => ({
    restricted: window.hits > window.limit,
    hits: window.hits,
    expiresAt: window.expiresAt,
  }));
  private readonly sweep: NodeJS.Timeout;

  constructor(redis: RedisService) {
    this.store = new CounterStore(redis, new Logger('RateLimit'), 'rate limits');
    this.sweep = setInterval(() => this.evictExpired(), MEMORY_SWEEP_MS).unref();
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const [hits, remainingMs] = await this.store.run(
      async (client) => (await client.eval(HIT_SCRIPT, 1, this.store.key('rl', key), ttl)) as [number, number],
      () => this.hitInMemory(key, ttl, limit),
    );
    const secondsLeft = Math.max(1, Math.ceil(remainingMs / 1000));
    const isBlocked = hits > limit;
    return { totalHits: hits, timeToExpire: secondsLeft, isBlocked, timeToBlockExpire: isBlocked ? secondsLeft : 0 };
  }

  private hitInMemory(key: string, ttl: number, limit: number): [number, number] {
    const now = Date.now();
    let window = this.memory.get(key);
    if (!window || window.expiresAt <= now) {
      window = { hits: 0, limit, expiresAt: now + ttl };
      this.memory.set(key, window, now);
    }
    window.hits += 1;
    return [window.hits, window.expiresAt - now];
  }

  private evictExpired(): void {
    this.memory.evictExpired();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweep);
  }
}
