// The cache for hot authentication state: cache-manager over Redis (its own ioredis connection) when
// REDIS_URL is set, in memory otherwise. Global, so the owning services can read through it and evict.
import { CacheModule, type CacheModuleOptions } from '@nestjs/cache-manager';
import { Global, Module } from '@nestjs/common';
import { RedisService } from '../../redis/redis.service';
import { CacheStats } from './cache-stats';
import { memoryStore, redisStore } from './cache-stores';
import { StateChangeListener } from './listeners/state-change.listener';
import { StateCache } from './state-cache.service';

@Global()
@Module({
  imports: [
    CacheModule.registerAsync({
      inject: [RedisService],
      useFactory: (redis: RedisService) => {
        const connection = redis.duplicate('cache');
        const store = connection ? redisStore(connection) : memoryStore(50_000);
        // The same Keyv class, seen through its CommonJS and its ESM type declarations.
        return { stores: [store] } as unknown as CacheModuleOptions;
      },
    }),
  ],
  providers: [CacheStats, StateCache, StateChangeListener],
  exports: [CacheStats, StateCache],
})
export class StateCacheModule {}
