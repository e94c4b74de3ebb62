// The Keyv stores behind cache-manager: Redis through a small adapter over ioredis when REDIS_URL is
// set (shared by every instance), a bounded in-process map otherwise and for the per-instance memory tier.
import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { Keyv, type KeyvStoreAdapter, type StoredData } from 'keyv';

/** A Map that forgets its oldest entries beyond a size, so the memory tier cannot grow without end. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly maxEntries: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.has(key)) super.delete(key); // re-insert: Map order is insertion order
    super.set(key, value);
    while (this.size > this.maxEntries) {
      const oldest = this.keys().next();
      if (oldest.done) break;
      super.delete(oldest.value);
    }
    return this;
  }
}

interface MemoryEntry {
  raw: string;
  expiresAt: number;
  /** The entry decoded once by peek(), frozen, with the decoder that made it. */
  decoded?: unknown;
  decodedBy?: (raw: string) => unknown;
}

/**
 * The per-instance memory tier in front of Redis: raw entries with their expiry in a BoundedMap,
 * read synchronously. Every authenticated request reads it twice, so it skips Keyv's promise and
 * serialisation layers (a quarter of the state check's CPU when it went through them), and peek()
 * decodes an entry once for all the requests that read it within its life.
 */
export class MemoryTier {
  private readonly entries: BoundedMap<string, MemoryEntry>;

  constructor(maxEntries: number) {
    this.entries = new BoundedMap(maxEntries);
  }

  get(key: string, now = Date.now()): string | undefined {
    return this.live(key, now)?.raw;
  }

  /**
   * The entry decoded, shared by every reader until it expires: frozen, so no reader can change
   * what the next one sees. Undefined when absent or expired.
   */
  peek<T extends object>(key: string, decode: (raw: string) => T, now = Date.now()): Readonly<T> | undefined {
    const entry = this.live(key, now);
    if (!entry) return undefined;
    if (entry.decodedBy !== decode) {
      entry.decoded = Object.freeze(decode(entry.raw));
      entry.decodedBy = decode;
    }
    return entry.decoded as Readonly<T>;
  }

  /** The entry while unexpired; an expired one is dropped. */
  private live(key: string, now: number): MemoryEntry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, raw: string, ttlMs: number, now = Date.now()): void {
    if (ttlMs > 0) this.entries.set(key, { raw, expiresAt: now + ttlMs });
  }

  mdel(keys: readonly string[]): void {
    for (const key of keys) this.entries.delete(key);
  }
}

export function memoryStore(maxEntries: number): Keyv {
  return new Keyv({ store: new BoundedMap<string, unknown>(maxEntries), useKeyPrefix: false });
}

/**
 * The shared tier: a Keyv store over its own ioredis connection (RedisService.duplicate('cache'),
 * so it has that service's fail-fast options: no offline queue, a 2 s connect timeout, one retry
 * per command). Commands reject at once while Redis is down, and Keyv and cache-manager turn the
 * rejection into a miss (or a failed write), so an outage never makes a request wait; ioredis
 * reconnects by itself. Keys are used as given (already namespaced with REDIS_KEY_PREFIX) and values
 * are Keyv's serialised entries. Multi-key calls are one command each (MGET, DEL k1 k2 …, a
 * pipeline for setMany), so batches cost one round trip.
 */
export class RedisKeyvStore implements KeyvStoreAdapter {
  readonly opts = {};
  namespace?: string;
  private readonly logger = new Logger('Cache');
  private degraded = false;

  constructor(private readonly client: Redis) {
    // RedisService logs the outage once for the whole process; this connection only says it is back.
    client.on('reconnecting', () => (this.degraded = true));
    client.on('ready', () => {
      if (this.degraded) this.logger.log('Shared cache connection to Redis is back');
      this.degraded = false;
    });
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return ((await this.client.get(key)) ?? undefined) as StoredData<Value> | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    if (keys.length === 0) return [];
    const values = await this.client.mget(keys);
    return values.map((value) => value ?? undefined) as Array<StoredData<Value | undefined>>;
  }

  /** `ttl` in milliseconds; none (or 0) keeps the entry until it is deleted. */
  async set(key: string, value: string, ttl?: number): Promise<void> {
    await (ttl ? this.client.set(key, value, 'PX', ttl) : this.client.set(key, value));
  }

  async setMany(entries: Array<{ key: string; value: string; ttl?: number }>): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.client.pipeline();
    for (const { key, value, ttl } of entries) {
      if (ttl) pipeline.set(key, value, 'PX', ttl);
      else pipeline.set(key, value);
    }
    const failed = (await pipeline.exec())?.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async has(key: string): Promise<boolean> {
    return (await this.client.exists(key)) > 0;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.client.del(key)) > 0;
  }

  /** True when any of the keys existed. */
  async deleteMany(keys: string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    return (await this.client.del(keys)) > 0;
  }

  /** Refused: every instance shares this keyspace, and nothing in Latch needs to empty it. */
  async clear(): Promise<void> {
    throw new Error('The shared cache cannot be cleared as a whole; evict its keys');
  }

  /** Failures reach Keyv as rejections; the store emits no events of its own. */
  on(): this {
    return this;
  }

  /**
   * Closes the connection. A graceful QUIT waits for a Redis that may never answer (down or hung at
   * shutdown): send it only when connected, and never wait past a second.
   */
  async disconnect(): Promise<void> {
    if (this.client.status === 'ready') {
      const waited = new Promise((resolve) => setTimeout(resolve, 1000).unref());
      await Promise.race([this.client.quit(), waited]).catch(() => undefined);
    }
    this.client.disconnect();
  }
}

/** The Keyv behind cache-manager for the shared tier: keys as given, failures as misses. */
export function redisStore(client: Redis): Keyv {
  const keyv = new Keyv({ store: new RedisKeyvStore(client), namespace: undefined, useKeyPrefix: false });
  keyv.on('error', () => undefined); // Keyv reports a failed write as an 'error' event besides returning false
  return keyv;
}
