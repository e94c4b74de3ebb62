// /health/liveness and /health/readiness (terminus), outside the /api/v1 prefix and rate limits.
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MailOutboxModule } from '../mail/mail-outbox.module';
import { HealthController } from './health.controller';
import { DatabaseIndicator } from './indicators/database.indicator';
import { MailBacklogIndicator } from './indicators/mail-backlog.indicator';
import { RedisIndicator } from './indicators/redis.indicator';
import { ReplicasIndicator } from './indicators/replicas.indicator';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), MailOutboxModule],
  controllers: [HealthController],
  providers: [DatabaseIndicator, RedisIndicator, MailBacklogIndicator, ReplicasIndicator],
})
export class HealthModule {}
