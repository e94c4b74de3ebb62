// Wires the modules for one application instance, with its configuration, global guards and filter.
import { DynamicModule, Module, Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { EventsModule } from './common/events/events.module';
import { LifecycleModule } from './common/lifecycle/lifecycle.module';
import { ProblemDetailsFilter } from './common/filters/problem-details.filter';
import { ContentTypeGuard } from './common/http/content-type';
import { configModule, LatchConfig } from './config/configuration';
import { DatabaseModule } from './database/database.module';
import { AuditModule } from './modules/audit/audit.module';
import { AuthModule } from './modules/auth/auth.module';
import { JwtAuthGuard } from './modules/auth/guards/jwt-auth.guard';
import { StateCacheModule } from './modules/cache/state-cache.module';
import { HealthModule } from './modules/health/health.module';
import { ObservabilityModule } from './modules/observability/observability.module';
import { PresenceModule } from './modules/presence/presence.module';
import { RateLimitGuard } from './modules/throttle/latch-throttler.guard';
import { ThrottleModule } from './modules/throttle/throttle.module';
import { TokensModule } from './modules/tokens/tokens.module';
import { UsersModule } from './modules/users/users.module';
import { RedisModule } from './redis/redis.module';

@Module({})
export class AppModule {
  static forRoot(config: LatchConfig, extra: (Type | DynamicModule)[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        configModule(config),
        ScheduleModule.forRoot(),
        EventsModule,
        LifecycleModule,
        DatabaseModule,
        ObservabilityModule,
        RedisModule,
        StateCacheModule,
        HealthModule,
        ThrottleModule,
        UsersModule,
        TokensModule,
        AuthModule,
        AuditModule,
        PresenceModule,
        ...extra,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_GUARD, useExisting: RateLimitGuard }, // first: even refused requests count
        { provide: APP_GUARD, useClass: ContentTypeGuard },
        { provide: APP_GUARD, useExisting: JwtAuthGuard },
      ],
    };
  }
}
