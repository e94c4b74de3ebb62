// Kubernetes probes. Liveness answers from the process alone (a dependency outage must never get
// the pod restarted); readiness takes the pod out of the Service while PostgreSQL does not answer.
// Both answer in terminus format, never through the problem-details filter, and are not cached.
import { Controller, Get, Header, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../../common/decorators/public.decorator';
import { DatabaseIndicator } from './indicators/database.indicator';
import { MailBacklogIndicator } from './indicators/mail-backlog.indicator';
import { RedisIndicator } from './indicators/redis.indicator';

@Public()
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseIndicator,
    private readonly redis: RedisIndicator,
    private readonly mail: MailBacklogIndicator,
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
      return await this.health.check([() => this.database.check(), () => this.redis.check(), () => this.mail.check()]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse();
    }
  }
}
