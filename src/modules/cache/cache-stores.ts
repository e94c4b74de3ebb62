// The Keyv stores behind cache-manager: Redis through @keyv/redis when REDIS_URL is set (shared by
// every instance), a bounded in-process map otherwise and for the per-instance memory tier.
import { Logger } from '@nestjs/common';
import KeyvRedis, { createClient } from '@keyv/redis';
import { Keyv } from 'keyv';
import type { RedisConfig } from '../../config/configuration';

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
 * The shared tier over Redis. Commands fail at once while the connection is down (no offline
 * queue), so a Redis outage turns into cache misses instead of waiting requests; the client
 * reconnects by itself. Keys are used as given (already namespaced with REDIS_KEY_PREFIX).
 */
export function redisStore(config: RedisConfig): Keyv {
  const logger = new Logger('Cache');
  const client = createClient({
    url: config.url,
    name: 'latch-cache',
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: (attempt: number) => Math.min(attempt * 200, 2000) },
  });
  let degraded = false;
  client.on('error', () => {
    // RedisService logs the outage once for the whole process; nothing to add per client.
    degraded = true;
  });
  client.on('ready', () => {
    if (degraded) logger.log('Shared cache connection to Redis is back');
    degraded = false;
  });
  // Connecting eagerly marks the client open, so @keyv/redis never waits on a connect per command.
  client.connect().catch(() => undefined);
  const store = new KeyvRedis(client, { throwOnErrors: true, throwOnConnectError: false });
  const keyv = new Keyv({ store, namespace: undefined, useKeyPrefix: false });
  keyv.on('error', () => undefined); // failures reach the caller as rejections; no unhandled 'error' event
  // A graceful close() waits for a connection that may never come back (Redis down at shutdown):
  // close gracefully only when connected, and never wait past a second.
  keyv.disconnect = async () => {
    if (client.isReady) {
      await Promise.race([client.close(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]).catch(
        () => undefined,
      );
    }
    if (client.isOpen) client.destroy();
  };
  return keyv;
}
