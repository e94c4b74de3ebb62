// Kubernetes probes. Liveness answers from the process alone (a dependency outage must never get
// the pod restarted); readiness takes the pod out of the Service while PostgreSQL does not answer.
// Both answer in terminus format, never through the problem-details filter, and are not cached.
import { Controller, Get, Header, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../../common/decorators/public.decorator';
import { DatabaseIndicator } from './indicators/database.indicator';
import { MailBacklogIndicator } from './indicators/mail-backlog.indicator';
import { RedisIndicator } from './indicators/redis.indicator';
import { ReplicasIndicator } from './indicators/replicas.indicator';

@Public()
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseIndicator,
    private readonly redis: RedisIndicator,
    private readonly mail: MailBacklogIndicator,
    private readonly replicas: ReplicasIndicator,
  ) {}

  @Get('liveness')
  @Header('Cache-Control', 'no-store')
  @HealthCheck()
  liveness(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('readiness')
  @Header('Cache-Control', 'no-store')
  @HealthCheck()
  async readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    try {
      const checks: HealthIndicatorFunction[] = [
        () => this.database.check(),
        () => this.redis.check(),
        () => this.mail.check(),
      ];
      // Only with DATABASE_READ_URLS, and never fatal (a replica out of rotation shows as degraded).
      if (this.replicas.configured) checks.push(() => this.replicas.check());
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse();
    }
  }
}
