// Authenticates a request by its X-API-Key header, for the JWT guard (auth/guards/jwt-auth.guard.ts)
// on the routes marked @AcceptsApiKey. Every refusal short of a missing scope is the same 401 —
// malformed, unknown, expired or deleted key, owner not active — so an answer tells nothing about
// why. A warm check costs no database round trip: the key and its owner come from the state cache.
// lastUsedAt is stamped after the response, at most once a minute per key (ApiKeyUsageListener).
import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ANY_API_KEY } from '../../common/decorators/accepts-api-key.decorator';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import { ApiKeyUsedEvent } from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { BoundedMap } from '../cache/cache-stores';
import { Metrics } from '../observability/metrics/metrics.service';
import { ApiKeyRateLimit } from '../throttle/api-key-rate-limit';
import type { UserEntity } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { wellFormedApiKey } from './api-key-format';
import type { LiveApiKey } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

/** How often a key's use is announced (and lastUsedAt stamped), per key and instance. */
export const LAST_USED_INTERVAL_MS = 60_000;
/** Keys whose last announcement this instance remembers; beyond it the oldest are forgotten. */
const MAX_REMEMBERED = 10_000;

export interface ApiKeyCaller {
  user: UserEntity;
  key: LiveApiKey;
}

@Injectable()
export class ApiKeyAuthenticator {
  /** When each key's use was last announced; the oldest are forgotten beyond MAX_REMEMBERED. */
  private readonly announced = new BoundedMap<string, number>(MAX_REMEMBERED);

  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly users: UsersService,
    private readonly limits: ApiKeyRateLimit,
    private readonly events: DomainEvents,
    private readonly metrics: Metrics,
  ) {}

  /**
   * The key's owner and the key; 401 for any key that is not live with an active owner, 429 over
   * the key's (or, for a refused key, the address's) budget, 403 without `scope`. Without limits
   * to count, a key and owner this instance holds in memory are answered without a promise.
   */
  authenticate(
    header: unknown,
    scope: string,
    request: FastifyRequest,
    reply: FastifyReply,
  ): ApiKeyCaller | Promise<ApiKeyCaller> {
    if (!this.limits.enabled) {
      const caller = this.fromMemory(header);
      if (caller) return this.admit(caller, scope);
    }
    return this.authenticateFully(header, scope, request, reply);
  }

  private async authenticateFully(
    header: unknown,
    scope: string,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<ApiKeyCaller> {
    const caller = await this.check(header);
    if (!caller) {
      this.metrics.apiKeyRequests.inc({ result: 'invalid' });
      await this.countRefusal(request, reply);
      throw new AppError(ErrorCode.Unauthorized, 'A valid API key is required.', { credential: 'api_key' });
    }
    try {
      await this.limits.hitKey(caller.key.id, reply);
    } catch (error) {
      this.metrics.apiKeyRequests.inc({ result: 'rate_limited' });
      throw error;
    }
    return this.admit(caller, scope);
  }

  /** A live key of an active owner, counted: 403 without `scope`, else the caller. */
  private admit(caller: ApiKeyCaller, scope: string): ApiKeyCaller {
    if (scope !== ANY_API_KEY && !caller.key.scopes.includes(scope)) {
      this.metrics.apiKeyRequests.inc({ result: 'forbidden' });
      throw new AppError(ErrorCode.Forbidden, `This API key lacks the scope "${scope}".`);
    }
    this.metrics.apiKeyRequests.inc({ result: 'success' });
    this.announceUse(caller);
    return caller;
  }

  /** check()'s caller when the key and its active owner are in this instance's memory; else undefined. */
  private fromMemory(header: unknown): ApiKeyCaller | undefined {
    const presented = wellFormedApiKey(header);
    if (!presented) return undefined;
    const key = this.apiKeys.peekLive(presented);
    if (!key) return undefined;
    const user = this.users.peekById(key.userId);
    if (!user || user.status !== 'active') return undefined;
    return { user, key };
  }

  /** The caller a presented key stands for, or undefined (the introspection of a key uses it too). */
  async check(header: unknown): Promise<ApiKeyCaller | undefined> {
    const presented = wellFormedApiKey(header);
    if (!presented) return undefined;
    const key = await this.apiKeys.findLive(presented);
    if (!key) return undefined;
    const user = await this.users.getById(key.userId);
    if (!user || user.status !== 'active') return undefined;
    return { user, key };
  }

  private async countRefusal(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      await this.limits.hitFailure(request.ip, reply);
    } catch (error) {
      this.metrics.apiKeyRequests.inc({ result: 'rate_limited' });
      throw error;
    }
  }

  private announceUse({ user, key }: ApiKeyCaller): void {
    const now = Date.now();
    const last = this.announced.get(key.id);
    if (last !== undefined && now - last < LAST_USED_INTERVAL_MS) return;
    this.announced.set(key.id, now);
    this.events.publish(new ApiKeyUsedEvent(user.id, key.id));
  }
}
