// Rate limits of requests that present an API key (docs/security.md, "Rate limits"). Such requests
// skip the per-address limit of their route (LatchThrottlerGuard) and count here instead: a key that
// checks out against its own budget, RATE_LIMIT_API_KEY a minute across instances (Redis, or this
// instance's memory while Redis is away); a key that does not against its client address's
// `default` budget, so guessing keys costs as much as any other request.
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { normalizeIp } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { LatchConfig } from '../../config/configuration';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const WINDOW_MS = 60_000;
/** Same key and IPv6 grouping as the throttler's own `default` group (throttle.module.ts). */
const IPV6_CLIENT_PREFIX_BITS = 64;

@Injectable()
export class ApiKeyRateLimit {
  /** With RATE_LIMIT_ENABLED=false nothing is counted (and the hits below resolve at once). */
  readonly enabled: boolean;
  private readonly perKey: number;
  private readonly perAddress: number;

  constructor(
    private readonly storage: RedisThrottlerStorage,
    config: ConfigService<LatchConfig, true>,
  ) {
    const throttle = config.get('throttle', { infer: true });
    this.enabled = throttle.enabled;
    this.perKey = throttle.apiKeyLimit;
    this.perAddress = throttle.limits.default;
  }

  /** Counts a request of a valid key; 429 RATE_LIMITED once the key is over its budget. */
  async hitKey(keyId: string, reply: FastifyReply): Promise<void> {
    await this.hit(
      'apiKey',
      `apiKey:${keyId}`,
      this.perKey,
      reply,
      'Too many requests with this API key; wait and try again.',
    );
  }

  /** Counts a refused key against its client address; 429 once the address is over its budget. */
  async hitFailure(ip: string, reply: FastifyReply): Promise<void> {
    const tracker = normalizeIp(ip, IPV6_CLIENT_PREFIX_BITS);
    await this.hit(
      'default',
      `default:${tracker}`,
      this.perAddress,
      reply,
      'Too many requests from this client; wait and try again.',
    );
  }

  private async hit(name: string, key: string, limit: number, reply: FastifyReply, message: string): Promise<void> {
    if (!this.enabled) return;
    const record = await this.storage.increment(key, WINDOW_MS, limit);
    void reply.header('RateLimit-Policy', `"${name}";q=${limit};w=${WINDOW_MS / 1000}`);
    void reply.header('RateLimit', `"${name}";r=${Math.max(0, limit - record.totalHits)};t=${record.timeToExpire}`);
    if (record.isBlocked) throw new AppError(ErrorCode.RateLimited, message, { retryAfter: record.timeToBlockExpire });
  }
}
