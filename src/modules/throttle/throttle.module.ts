// The HTTP edge's limits: the global rate-limit guard with its Redis-backed storage, and the
// per-account sign-in protection that AuthService consults. Global, so AuthService and the
// application's guard list can use them without import chains.
import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { getOptionsToken, getStorageToken, type ThrottlerModuleOptions } from '@nestjs/throttler';
import type { ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { LatchConfig } from '../../config/configuration';
import { ApiKeyRateLimit } from './api-key-rate-limit';
import { LatchThrottlerGuard, RateLimitGuard } from './latch-throttler.guard';
import { LoginProtectionService } from './login-protection.service';
import {
  RATE_LIMIT_GROUP,
  RATE_LIMIT_GROUPS,
  type RateLimitGroup,
  type RateLimitGroupOf,
} from './rate-limit.decorator';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const WINDOW_MS = 60_000;

/**
 * Per-address limits count an IPv6 client by this prefix (one customer usually holds a whole /64,
 * 2^64 addresses); an IPv4-mapped IPv6 address counts as its IPv4 address. The throttler's own
 * tracker (normalizeIp) does the grouping; the prefix is named here so that it stays visible and
 * can become a setting.
 */
export const IPV6_CLIENT_PREFIX_BITS = 64;

/** One named throttler per group; a request is counted only by the throttler of its route's group. */
function throttlerOptions(config: ConfigService<LatchConfig, true>): ThrottlerModuleOptions {
  const { limits } = config.get('throttle', { infer: true });
  const reflector = new Reflector();
  const groupOf = (context: ExecutionContext): RateLimitGroup => {
    const group = reflector.getAllAndOverride<RateLimitGroup | RateLimitGroupOf | undefined>(RATE_LIMIT_GROUP, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (typeof group === 'function') return group(context.switchToHttp().getRequest<FastifyRequest>());
    return group ?? 'default';
  };
  return {
    throttlers: RATE_LIMIT_GROUPS.map((name) => ({
      name,
      limit: limits[name],
      ttl: WINDOW_MS,
      skipIf: (context: ExecutionContext) => groupOf(context) !== name,
    })),
    ipv6SubnetPrefix: IPV6_CLIENT_PREFIX_BITS,
    // A group's budget is shared by all of its routes, per client address (IPv6: its /64).
    generateKey: (_context, tracker, name) => `${name}:${tracker}`,
  };
}

@Global()
@Module({
  providers: [
    RedisThrottlerStorage,
    { provide: getStorageToken(), useExisting: RedisThrottlerStorage },
    { provide: getOptionsToken(), useFactory: throttlerOptions, inject: [ConfigService] },
    LatchThrottlerGuard,
    RateLimitGuard,
    LoginProtectionService,
    ApiKeyRateLimit,
  ],
  exports: [LatchThrottlerGuard, RateLimitGuard, LoginProtectionService, ApiKeyRateLimit],
})
export class ThrottleModule {}
