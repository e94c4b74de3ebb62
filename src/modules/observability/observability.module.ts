// Logs, metrics and request timing. Global so that any module can record into Metrics (bcrypt,
// caches) without importing this one; the request hooks are installed by createApp (bootstrap.ts)
// through RequestObserver, since they must be in place before Nest registers its routes.
import { Global, Module } from '@nestjs/common';
import { MailOutboxModule } from '../mail/mail-outbox.module';
import { RequestObserver } from './http/request-observer';
import { AuthOutcomesListener } from './metrics/auth-outcomes.listener';
import { CacheMetrics } from './metrics/cache.metrics';
import { DatabaseMetrics } from './metrics/database.metrics';
import { MetricsController } from './metrics/metrics.controller';
import { Metrics } from './metrics/metrics.service';

@Global()
@Module({
  imports: [MailOutboxModule],
  controllers: [MetricsController],
  providers: [Metrics, RequestObserver, AuthOutcomesListener, DatabaseMetrics, CacheMetrics],
  exports: [Metrics],
})
export class ObservabilityModule {}
