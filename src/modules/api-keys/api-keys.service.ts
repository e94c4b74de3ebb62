// API keys: creation (the key is shown once; only its keyed hash is kept), lists, deletion, and the
// lookup every key-authenticated request makes, read through the state cache (no database round
// trip once warm). A deletion evicts the cached key on every instance at once (StateCache.forget).
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import { ApiKeyCreatedEvent, ApiKeyDeletedEvent, type ClientInfo } from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import type { LatchConfig } from '../../config/configuration';
import { BoundedMap } from '../cache/cache-stores';
import { CacheKind, StateCache } from '../cache/state-cache.service';
import { KeyedHash } from '../crypto/keyed-hash';
import { API_KEY_HASH_PURPOSE, generateApiKey } from './api-key-format';
import { ApiKeyRow, ApiKeysRepository, LiveApiKey } from './api-keys.repository';

/** Keys in the state cache; never longer than until they expire. */
const LIVE_KEY_CODEC = {
  encode: (key: LiveApiKey): string => JSON.stringify(key),
  decode: (raw: string): LiveApiKey => {
    const parsed = JSON.parse(raw) as LiveApiKey & { expiresAt: string | null };
    return { ...parsed, expiresAt: parsed.expiresAt === null ? null : new Date(parsed.expiresAt) };
  },
  ttlMs: (key: LiveApiKey): number =>
    key.expiresAt === null ? Number.POSITIVE_INFINITY : key.expiresAt.getTime() - Date.now(),
};

/**
 * The key found under `digest` is that key and unexpired. The lookup was by equality of this very
 * hash; it is compared again here in constant time, so no path (a cache entry under a colliding
 * name, a future change of lookup) can skip the check.
 */
function live(key: LiveApiKey, digest: string): boolean {
  if (!KeyedHash.equal(key.keyHash, digest)) return false;
  return key.expiresAt === null || key.expiresAt.getTime() > Date.now();
}

export interface NewApiKeyInput {
  name: string;
  scopes?: string[];
  expiresInDays?: number;
}

@Injectable()
export class ApiKeysService {
  private readonly maxPerUser: number;
  /**
   * The current digest of keys found live lately, by key: the HMAC is a fifth of a warm key check's
   * CPU. It holds keys this process was just handed (as the JWT strategy holds recent tokens), only
   * ones that checked out, so guesses cannot crowd them out; liveness is still checked every time.
   */
  private readonly recentDigests = new BoundedMap<string, string>(4096);

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly hash: KeyedHash,
    private readonly cache: StateCache,
    private readonly events: DomainEvents,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.maxPerUser = config.get('auth', { infer: true }).apiKeysMaxPerUser;
  }

  async create(userId: string, input: NewApiKeyInput, client: ClientInfo): Promise<ApiKeyRow & { key: string }> {
    const { key, prefix } = generateApiKey();
    const [keyHash] = this.hash.digests(key, API_KEY_HASH_PURPOSE);
    const created = await this.keys.create(
      {
        userId,
        name: input.name,
        prefix,
        keyHash: keyHash!,
        scopes: [...new Set(input.scopes ?? [])],
        expiresInDays: input.expiresInDays ?? null,
      },
      this.maxPerUser,
    );
    if (!created) {
      throw new AppError(
        ErrorCode.ValidationFailed,
        `An account may hold at most ${this.maxPerUser} API keys (API_KEYS_MAX_PER_USER); delete one first.`,
      );
    }
    this.events.publish(new ApiKeyCreatedEvent(userId, created.id, client));
    return { ...created, key };
  }

  list(userId: string): Promise<ApiKeyRow[]> {
    return this.keys.listForUser(userId);
  }

  /** Deletes one of the user's keys (404 if it is not theirs); it stops working on every instance at once. */
  async delete(userId: string, id: string, client: ClientInfo, actorId?: string): Promise<void> {
    const keyHash = await this.keys.delete(userId, id);
    if (keyHash === null) throw new AppError(ErrorCode.NotFound, 'No such API key.');
    await this.cache.forget(CacheKind.ApiKey, [keyHash]);
    this.events.publish(new ApiKeyDeletedEvent(userId, id, client, actorId));
  }

  /** Deletes every key of the user (an admin's answer to a leak); each is audited as deleted. */
  async deleteAll(userId: string, client: ClientInfo, actorId: string): Promise<void> {
    const deleted = await this.keys.deleteAllForUser(userId);
    if (deleted.length === 0) return;
    await this.cache.forget(
      CacheKind.ApiKey,
      deleted.map((key) => key.keyHash),
    );
    for (const key of deleted) this.events.publish(new ApiKeyDeletedEvent(userId, key.id, client, actorId));
  }

  /**
   * The live key a well-formed presented key stands for, or null. Read through the state cache under
   * its current keyed hash; a row hashed under a retired ENCRYPTION_KEY is re-hashed on first use.
   */
  async findLive(presented: string): Promise<LiveApiKey | null> {
    const digests = this.hash.digests(presented, API_KEY_HASH_PURPOSE);
    const current = digests[0]!;
    const key = await this.cache.getOrLoad(CacheKind.ApiKey, current, () => this.load(digests), LIVE_KEY_CODEC);
    if (!key || !live(key, current)) return null;
    this.recentDigests.set(presented, current);
    return key;
  }

  /**
   * The live key from this instance's memory alone (shared and frozen), or undefined: not there,
   * or not live (findLive() then decides). See StateCache.peek.
   */
  peekLive(presented: string): Readonly<LiveApiKey> | undefined {
    const current = this.recentDigests.get(presented) ?? this.hash.digest(presented, API_KEY_HASH_PURPOSE);
    const key = this.cache.peek(CacheKind.ApiKey, current, LIVE_KEY_CODEC);
    return key && live(key, current) ? key : undefined;
  }

  /** Stamps lastUsedAt (the repository skips it within a minute of the last stamp). */
  touch(id: string): Promise<void> {
    return this.keys.touch(id);
  }

  private async load(digests: string[]): Promise<LiveApiKey | null> {
    const key = await this.keys.findLiveByHash(digests);
    if (!key || key.keyHash === digests[0]) return key;
    await this.keys.rehash(key.id, digests[0]!);
    return { ...key, keyHash: digests[0]! };
  }
}
