// The one shared Redis connection (ioredis), or none when REDIS_URL is unset. Users check
// `available` and fall back to per-instance memory when Redis is down; the degradation is logged
// once and ioredis reconnects by itself. Keys are namespaced with REDIS_KEY_PREFIX via key().
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import type { LatchConfig, RedisConfig } from '../config/configuration';

@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private readonly config: RedisConfig;
  readonly client: Redis | null;
  private degraded = false;
  private readonly extra: Redis[] = [];

  constructor(config: ConfigService<LatchConfig, true>) {
    this.config = config.get('redis', { infer: true });
    this.client = this.config.url ? this.connect('main') : null;
    if (!this.client) {
      this.logger.warn('REDIS_URL is not set: cache and rate limits are kept in memory (one instance only)');
    }
  }

  /** True when Redis is configured and the connection is ready right now. */
  get available(): boolean {
    return this.client?.status === 'ready';
  }

  get configured(): boolean {
    return this.client !== null;
  }

  key(...parts: string[]): string {
    return `${this.config.keyPrefix}${parts.join(':')}`;
  }

  /** A separate connection (for pub/sub subscribers), closed with the service. */
  duplicate(name: string): Redis | null {
    if (!this.config.url) return null;
    const connection = this.connect(name);
    this.extra.push(connection);
    return connection;
  }

  private connect(name: string): Redis {
    const client = new Redis(this.config.url as string, {
      connectionName: `latch-${name}`,
      lazyConnect: false,
      enableOfflineQueue: false, // fail fast while down instead of queueing commands without end
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 1000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    client.on('ready', () => {
      if (this.degraded && name === 'main') {
        this.degraded = false;
        this.logger.log('Redis is reachable again: shared cache and limits resumed');
      }
    });
    client.on('error', (error: Error) => {
      if (name === 'main' && !this.degraded) {
        this.degraded = true;
        this.logger.warn(`Redis unreachable (${error.message}): falling back to per-instance memory`);
      }
    });
    return client;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      [this.client, ...this.extra]
        .filter((c): c is Redis => c !== null)
        .map((c) => c.quit().catch(() => c.disconnect())),
    );
  }
}
