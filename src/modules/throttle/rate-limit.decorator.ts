// Names the rate-limit group a route belongs to. Each group has its own per-client budget per
// minute (docs/security.md, "Rate limits"); routes without a group share the `default` budget. A
// route that serves two kinds of request (the token endpoint: password guesses and refreshes) may
// choose the group per request.
import { SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ThrottleConfig } from '../../config/configuration';

export type RateLimitGroup = keyof ThrottleConfig['limits'];

export const RATE_LIMIT_GROUPS: readonly RateLimitGroup[] = ['default', 'register', 'login', 'token', 'forgotPassword'];

export const RATE_LIMIT_GROUP = 'latch:rateLimitGroup';

/** Picks the group of one request (its body is parsed by then). */
export type RateLimitGroupOf = (request: FastifyRequest) => RateLimitGroup;

/** Counts requests to this route against the given group's budget instead of the default one. */
export const RateLimit = (group: RateLimitGroup | RateLimitGroupOf): MethodDecorator & ClassDecorator =>
  SetMetadata(RATE_LIMIT_GROUP, group);
