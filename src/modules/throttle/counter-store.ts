// Chooses where shared counters live: Redis when it is configured and answering, otherwise this
// instance's memory (never "no limit"). The switch to memory is logged once per outage, and the
// way back happens by itself as soon as the connection is ready again.
import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { RedisService } from '../../redis/redis.service';

export class CounterStore {
  private degraded = false;

  constructor(
    private readonly redis: RedisService,
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  key(...parts: string[]): string {
    return this.redis.key(...parts);
  }

  async run<T>(inRedis: (client: Redis) => Promise<T>, inMemory: () => T): Promise<T> {
    const client = this.redis.client;
    if (!client) return inMemory(); // no REDIS_URL: memory by design, RedisService warned at start
    if (!this.redis.available) {
      this.degrade('the connection is not ready');
      return inMemory();
    }
    try {
      const result = await inRedis(client);
      if (this.degraded) {
        this.degraded = false;
        this.logger.log(`Redis is back: ${this.what} are shared across instances again`);
      }
      return result;
    } catch (error) {
      this.degrade(error instanceof Error ? error.message : String(error));
      return inMemory();
    }
  }

  private degrade(reason: string): void {
    if (this.degraded) return;
    this.degraded = true;
    this.logger.warn(
      `Redis unavailable (${reason}): ${this.what} are counted in this instance's memory until it returns`,
    );
  }
}
