// Read-through cache for the state every authenticated request checks (live session, user, API key), so a
// valid token on a warm cache costs no database query. Owners (TokensService, UsersService) read
// through getOrLoad() and call forget() after every change, so no write path can leave it stale.
//
// Tiers: with REDIS_URL, a per-instance memory tier (MEMORY_TTL_MS) in front of the shared Redis
// tier (SHARED_TTL_MS); forget() deletes both and publishes the keys so every other instance drops
// its memory copy at once. The memory tier's one-second life bounds staleness even when a
// message is lost; evictions that cannot reach Redis are replayed when it is back. Without
// REDIS_URL (one instance), a single memory tier (MEMORY_ONLY_TTL_MS) is the shared tier.
// Keys are SHA-256 digests of the ids under REDIS_KEY_PREFIX: nothing bearer-like is ever a key.
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Cache } from 'cache-manager';
import type Redis from 'ioredis';
import { createHash, randomUUID } from 'node:crypto';
import type { LatchConfig } from '../../config/configuration';
import { RedisService } from '../../redis/redis.service';
import { CacheStats } from './cache-stats';
import { BoundedMap, MemoryTier } from './cache-stores';

/** The kinds of state kept here; owners pass them to getOrLoad() and forget(). */
export const CacheKind = { Session: 'session', User: 'user', ApiKey: 'api_key' } as const;

/**
 * How long Redis keeps an entry. Evictions normally reach it at once; the TTL bounds the rare case
 * of an eviction that could not reach Redis (an instance cut off from it while others are not).
 */
export const SHARED_TTL_MS = 10_000;
/** Without Redis there is one instance and every eviction is local: entries may live longer. */
export const MEMORY_ONLY_TTL_MS = 30_000;
/** How long the per-instance memory tier keeps an entry when Redis is the shared tier. */
export const MEMORY_TTL_MS = 1_000;
/** A shared-tier call that takes longer is treated as a miss (or a failed delete). */
const SHARED_TIMEOUT_MS = 250;
/** Evictions are repeated once after this delay, closing the race with a concurrent read-through. */
export const SECOND_EVICTION_DELAY_MS = 300;
/** Evictions that could not reach Redis, replayed when it is back. */
const MAX_PENDING_EVICTIONS = 50_000;

export interface CacheCodec<T> {
  encode(value: T): string;
  decode(raw: string): T;
  /** How long this value may be cached at most (e.g. until a session expires). */
  ttlMs(value: T): number;
}

interface InvalidationMessage {
  from: string;
  keys: string[];
}

class SharedTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SharedTimeout('shared cache timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

@Injectable()
export class StateCache implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Cache');
  private readonly instanceId = randomUUID();
  private readonly redisBacked: boolean;
  private readonly channel: string;
  /** Per-instance memory tier in front of Redis; null when the shared tier already is memory. */
  private readonly memory: MemoryTier | null;
  private subscriber: Redis | null = null;
  /** Bumped by every eviction: a load that overlapped one must not write its result back. */
  private epoch = 0;
  private readonly pending = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** The digests of recently used ids: every authenticated request looks up two. */
  private readonly keys = new BoundedMap<string, string>(4096);

  constructor(
    @Inject(CACHE_MANAGER) private readonly shared: Cache,
    private readonly redis: RedisService,
    private readonly stats: CacheStats,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.redisBacked = config.get('redis', { infer: true }).url !== undefined;
    this.channel = redis.key('cache', 'invalidate');
    this.memory = this.redisBacked ? new MemoryTier(20_000) : null;
  }

  onModuleInit(): void {
    if (!this.redisBacked) return;
    this.subscriber = this.redis.duplicate('cache-invalidation');
    if (this.subscriber) {
      const subscriber = this.subscriber;
      // Subscribing on every 'ready' also covers a first connection that failed.
      subscriber.on('ready', () => void subscriber.subscribe(this.channel).catch(() => undefined));
      subscriber.on('message', (channel: string, message: string) => {
        if (channel === this.channel) void this.onRemoteInvalidation(message);
      });
    }
    this.redis.client?.on('ready', () => void this.replayPending());
  }

  onApplicationShutdown(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** The cached value, or the loaded one (then cached). Null results are never cached. */
  async getOrLoad<T>(kind: string, id: string, load: () => Promise<T | null>, codec: CacheCodec<T>): Promise<T | null> {
    const key = this.keyOf(kind, id);
    const fromMemory = this.memory?.get(key);
    if (fromMemory !== undefined) {
      this.stats.hit(kind, 'memory');
      return codec.decode(fromMemory);
    }
    const epoch = this.epoch;
    const fromShared = await this.readShared(key);
    if (fromShared !== undefined) {
      this.stats.hit(kind, this.redisBacked ? 'shared' : 'memory');
      const value = codec.decode(fromShared);
      const ttl = Math.min(MEMORY_TTL_MS, codec.ttlMs(value));
      if (this.memory && ttl > 0 && epoch === this.epoch) this.memory.set(key, fromShared, ttl);
      return value;
    }

    this.stats.miss(kind);
    const value = await load();
    if (value !== null && epoch === this.epoch) this.store(key, value, codec);
    return value;
  }

  /**
   * The value from this instance's memory tier alone, without waiting: the authenticated request's
   * fast path. Undefined when it is not there (or there is no memory tier); the caller then goes
   * through getOrLoad(). The value is shared and frozen: read it, never change it.
   */
  peek<T extends object>(kind: string, id: string, codec: CacheCodec<T>): Readonly<T> | undefined {
    if (!this.memory) return undefined;
    const value = this.memory.peek(this.keyOf(kind, id), codec.decode);
    if (value !== undefined) this.stats.hit(kind, 'memory');
    return value;
  }

  /** Drops entries after their state changed, here and on every other instance. */
  async forget(kind: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const keys = ids.map((id) => this.keyOf(kind, id));
    this.stats.evicted(kind, keys.length);
    await this.evict(keys);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.evict(keys);
    }, SECOND_EVICTION_DELAY_MS);
    timer.unref();
    this.timers.add(timer);
  }

  private keyOf(kind: string, id: string): string {
    const name = `${kind}:${id}`;
    let key = this.keys.get(name);
    if (key === undefined) {
      key = this.redis.key('cache', kind, createHash('sha256').update(id).digest('hex'));
      this.keys.set(name, key);
    }
    return key;
  }

  private async readShared(key: string): Promise<string | undefined> {
    if (!this.sharedUsable()) return undefined;
    try {
      const raw = await withTimeout(this.shared.get<string>(key), SHARED_TIMEOUT_MS);
      return raw ?? undefined;
    } catch {
      return undefined;
    }
  }

  private store<T>(key: string, value: T, codec: CacheCodec<T>): void {
    const ttl = Math.min(this.redisBacked ? SHARED_TTL_MS : MEMORY_ONLY_TTL_MS, codec.ttlMs(value));
    if (ttl <= 0) return;
    const raw = codec.encode(value);
    if (this.memory) this.memory.set(key, raw, Math.min(MEMORY_TTL_MS, ttl));
    if (this.sharedUsable()) {
      withTimeout(this.shared.set(key, raw, ttl), SHARED_TIMEOUT_MS).catch(() => undefined);
    }
  }

  private sharedUsable(): boolean {
    return !this.redisBacked || this.redis.available;
  }

  private async evict(keys: string[]): Promise<void> {
    this.epoch++;
    this.memory?.mdel(keys);
    if (!this.redisBacked) {
      await this.shared.mdel(keys);
      return;
    }
    try {
      if (!this.redis.available || !this.redis.client) throw new Error('Redis unavailable');
      await withTimeout(this.shared.mdel(keys), SHARED_TIMEOUT_MS);
      const message: InvalidationMessage = { from: this.instanceId, keys };
      await withTimeout(this.redis.client.publish(this.channel, JSON.stringify(message)), SHARED_TIMEOUT_MS);
    } catch {
      // Redis is down: other instances' memory entries expire within MEMORY_TTL_MS by themselves;
      // the shared entries are deleted when Redis is back (or expire within SHARED_TTL_MS).
      this.remember(keys);
    }
  }

  private remember(keys: string[]): void {
    for (const key of keys) {
      if (this.pending.size >= MAX_PENDING_EVICTIONS) break;
      this.pending.add(key);
    }
  }

  private async replayPending(): Promise<void> {
    if (this.pending.size === 0) return;
    const keys = [...this.pending];
    this.pending.clear();
    this.logger.log(`Redis is back: replaying ${keys.length} cache eviction(s) made while it was away`);
    for (let i = 0; i < keys.length; i += 500) await this.evict(keys.slice(i, i + 500));
  }

  private async onRemoteInvalidation(raw: string): Promise<void> {
    let message: InvalidationMessage;
    try {
      message = JSON.parse(raw) as InvalidationMessage;
    } catch {
      return;
    }
    if (message.from === this.instanceId || !Array.isArray(message.keys)) return;
    this.epoch++;
    this.memory?.mdel(message.keys.filter((k): k is string => typeof k === 'string'));
  }
}
