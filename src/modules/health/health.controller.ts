// Kubernetes probes. Liveness answers from the process alone (a dependency outage must never get
// the pod restarted); readiness takes the pod out of the Service while PostgreSQL does not answer.
// Both answer in terminus format, never through the problem-details filter, and are not cached.
import { BeforeApplicationShutdown, Controller, Get, Header, Res, ServiceUnavailableException } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../../common/decorators/public.decorator';
import { DatabaseIndicator } from './indicators/database.indicator';
import { MailBacklogIndicator } from './indicators/mail-backlog.indicator';
import { RedisIndicator } from './indicators/redis.indicator';
import { ReplicasIndicator } from './indicators/replicas.indicator';

const EMPTY_OBJECT = { type: 'object', additionalProperties: false } as const;
const LIVENESS_SCHEMA = {
  type: 'object',
  properties: { status: { type: 'string' }, info: EMPTY_OBJECT, error: EMPTY_OBJECT, details: EMPTY_OBJECT },
} as const;

@Public()
@ApiExcludeController()
@Controller('health')
export class HealthController implements BeforeApplicationShutdown {
  /**
   * Liveness checks nothing but that the process answers, so its answer is terminus's for no
   * indicators, made once: the probe is hit every few seconds by every kubelet and pays no promise.
   * Like terminus, it says 'shutting_down' (still 200) once the app has begun to stop.
   */
  private live: HealthCheckResult = { status: 'ok', info: {}, error: {}, details: {} };

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
  @RouteSchema({ response: { 200: LIVENESS_SCHEMA } })
  liveness(): HealthCheckResult {
    return this.live;
  }

  beforeApplicationShutdown(): void {
    this.live = { ...this.live, status: 'shutting_down' };
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
