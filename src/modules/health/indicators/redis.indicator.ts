// Redis is reported, never fatal: without it the service serves from PostgreSQL and per-instance
// memory (docs/operations.md, "When a dependency fails"), so an outage shows as `degraded`, still 200.
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RedisService } from '../../../redis/redis.service';

@Injectable()
export class RedisIndicator {
  constructor(
    private readonly redis: RedisService,
    private readonly health: HealthIndicatorService,
  ) {}

  check() {
    const session = this.health.check('redis');
    if (!this.redis.configured) return session.up({ configured: false, mode: 'memory' });
    if (this.redis.available) return session.up({ configured: true, connected: true, mode: 'shared' });
    return session.degraded({
      configured: true,
      connected: false,
      mode: 'memory-fallback',
      message: 'Redis is unreachable: cache and rate limits fall back to this instance',
    });
  }
}
