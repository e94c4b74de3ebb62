// The global rate-limit guard (runs before authentication). Each request counts against one
// group's budget (RateLimit decorator, else `default`) for its client address, Fastify's
// `request.ip`: the socket peer, or with TRUST_PROXY the nearest hop a trusted proxy vouches for,
// so a forged X-Forwarded-For can neither pick nor reset a bucket. IPv6 clients count by their /64
// (IPV6_CLIENT_PREFIX_BITS in throttle.module.ts). Answers carry the IETF draft
// `RateLimit-Policy` / `RateLimit` fields; a refusal is 429 RATE_LIMITED with Retry-After.
// Requests presenting an API key to a route that takes keys are counted by ApiKeyRateLimit instead.
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ACCEPTS_API_KEY } from '../../common/decorators/accepts-api-key.decorator';
import { IS_PUBLIC } from '../../common/decorators/public.decorator';
import { API_KEY_HEADER } from '../../common/http/openapi';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { LatchConfig } from '../../config/configuration';

/** Only the API is limited: probes and metrics scrapers (/health, /metrics) never get a 429. */
const LIMITED_PREFIX = '/api/';

@Injectable()
export class LatchThrottlerGuard extends ThrottlerGuard {
  private readonly enabled: boolean;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    config: ConfigService<LatchConfig, true>,
  ) {
    super(options, storage, reflector);
    this.enabled = config.get('throttle', { infer: true }).enabled;
  }

  /** Whether this request is counted at all: not with limits off, nor for probes and scrapers. */
  counts(context: ExecutionContext): boolean {
    if (!this.enabled || context.getType() !== 'http') return false;
    // The matched route's pattern, not the raw URL: no spelling of a path can dodge its limit.
    const request = context.getArgByIndex<FastifyRequest>(0); // as switchToHttp().getRequest(), without a new host
    const route = request.routeOptions?.url ?? request.url;
    return route.startsWith(LIMITED_PREFIX);
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return Promise.resolve(!this.counts(context) || this.countedPerApiKey(context, request));
  }

  /** A key presented to a route that takes keys is counted by ApiKeyRateLimit once it is checked. */
  private countedPerApiKey(context: ExecutionContext, request: FastifyRequest): boolean {
    if (request.headers[API_KEY_HEADER] === undefined || request.headers.authorization !== undefined) return false;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return false;
    return this.reflector.getAllAndOverride<string | undefined>(ACCEPTS_API_KEY, targets) !== undefined;
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, getTracker, generateKey } = props;
    const http = context.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const name = throttler.name ?? 'default';
    const tracker = await getTracker(http.getRequest(), context);
    const record = await this.storageService.increment(generateKey(context, tracker, name), ttl, limit, ttl, name);
    // draft-ietf-httpapi-ratelimit-headers-10: quota q per window w seconds; r left, t seconds to reset.
    void reply.header('RateLimit-Policy', `"${name}";q=${limit};w=${Math.round(ttl / 1000)}`);
    void reply.header('RateLimit', `"${name}";r=${Math.max(0, limit - record.totalHits)};t=${record.timeToExpire}`);
    if (record.isBlocked) {
      throw new AppError(ErrorCode.RateLimited, 'Too many requests from this client; wait and try again.', {
        retryAfter: record.timeToBlockExpire,
      });
    }
    return true;
  }
}

/**
 * The global guard in front of LatchThrottlerGuard: a request that is not counted passes at once,
 * without the throttler's promises (ThrottlerGuard.canActivate is async throughout).
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly throttler: LatchThrottlerGuard) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    return this.throttler.counts(context) ? this.throttler.canActivate(context) : true;
  }
}
