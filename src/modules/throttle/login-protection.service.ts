// Per-account protection against credential stuffing from many addresses. Every sign-in attempt
// (login, the OAuth password grant) and every current-password check at password change is counted
// before the password is checked (so parallel attempts cannot slip past the count); from the 5th
// attempt without a success within 15 minutes, the next attempt must wait, 1 s and doubling with
// each further failure up to 15 minutes, and is refused with 429 and Retry-After until then,
// without any password work. Counted per account, whichever identifier names it: a sign-in counts
// on two counters, the name as the user lookup compares it (before the lookup) and the account the
// lookup found (after it), and is refused when either must wait. A name that finds no account
// counts on a stand-in derived from the name instead, with the same steps, so an unknown name is
// answered exactly like a known one. A correct password, and a password reset, clear the account
// and its names. Names are kept only as keyed hashes (identifierHash); counters live in Redis
// (shared by every instance), in this instance's memory while Redis is unavailable.
// RATE_LIMIT_ENABLED=false (for benchmarks only) turns this off together with the per-address limits.
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHmac, hkdfSync } from 'node:crypto';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { LatchConfig } from '../../config/configuration';
import { RedisService } from '../../redis/redis.service';
import { encryptionKeys } from '../crypto/encryption-keys';
import { BoundedCounterMap } from './bounded-counter-map';
import { CounterStore } from './counter-store';

export const FREE_FAILURES = 5;
export const FAILURE_WINDOW_MS = 15 * 60_000;
export const FIRST_WAIT_MS = 1_000;
export const LONGEST_WAIT_MS = 15 * 60_000;
const MEMORY_MAX_ACCOUNTS = 100_000;
const MEMORY_SWEEP_MS = 60_000;

/** Wait imposed after the given number of attempts without a success (0 below the threshold). */
export function waitAfter(attempts: number): number {
  if (attempts < FREE_FAILURES) return 0;
  return Math.min(FIRST_WAIT_MS * 2 ** Math.min(attempts - FREE_FAILURES, 30), LONGEST_WAIT_MS);
}

// KEYS: attempts counter, wait marker. ARGV: threshold, window, first wait, longest wait (ms).
// Returns { 0, ms left to wait } when refused, { 1, attempts } when admitted.
const ADMIT_SCRIPT = `
local waiting = redis.call('PTTL', KEYS[2])
if waiting > 0 then return { 0, waiting } end
local attempts = redis.call('INCR', KEYS[1])
local wait = 0
local threshold = tonumber(ARGV[1])
if attempts >= threshold then
  wait = math.floor(math.min(tonumber(ARGV[3]) * 2 ^ math.min(attempts - threshold, 30), tonumber(ARGV[4])))
  redis.call('SET', KEYS[2], '1', 'PX', wait)
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + wait)
return { 1, attempts }
`;

// An attempt that never reached the password check (database down, hashing queue full) is not a
// failure: take it back.
const ABANDON_SCRIPT = `
local attempts = redis.call('DECR', KEYS[1])
if attempts <= 0 then redis.call('DEL', KEYS[1]) end
return attempts
`;

/**
 * One counter's id (nameCounter, accountCounter): never a raw identifier, so no name reaches Redis
 * or memory in clear.
 */
export type LoginCounter = string & { readonly __loginCounter: true };

interface AccountState {
  attempts: number;
  expiresAt: number;
  waitUntil: number;
}

@Injectable()
export class LoginProtectionService implements OnApplicationShutdown {
  private readonly enabled: boolean;
  private readonly store: CounterStore;
  // Accounts held back (or with the most attempts) are the last to go when the map is full.
  private readonly memory = new BoundedCounterMap<AccountState>(MEMORY_MAX_ACCOUNTS, (state, now) => ({
    restricted: state.waitUntil > now || state.attempts >= FREE_FAILURES,
    hits: state.attempts,
    expiresAt: state.expiresAt,
  }));
  private readonly sweep: NodeJS.Timeout;
  private readonly identifierKey: Buffer;

  constructor(redis: RedisService, config: ConfigService<LatchConfig, true>) {
    this.enabled = config.get('throttle', { infer: true }).enabled;
    const auth = config.get('auth', { infer: true });
    // With asymmetric tokens JWT_ACCESS_SECRET is usually unset (random per process): then the
    // first ENCRYPTION_KEY (required in production) keys the hashes, the same on every instance.
    this.identifierKey = auth.jwtAccessSecretGenerated
      ? identifierKeyFrom(encryptionKeys(config.get('crypto', { infer: true }))[0]!.toString('base64'))
      : identifierKeyFrom(auth.jwtAccessSecret);
    this.store = new CounterStore(redis, new Logger('LoginProtection'), 'per-account sign-in limits');
    this.sweep = setInterval(() => this.evictExpired(), MEMORY_SWEEP_MS).unref();
  }

  /**
   * A keyed hash of a name as the user lookup compares it (UsersService.loginNames): the same for
   * every spelling that finds the same account, and useless to whoever reads it without the server's
   * secret. Used for the counters' keys and, for names that match no account, in the audit trail.
   */
  identifierHash(name: string): string {
    return createHmac('sha256', this.identifierKey).update(name, 'utf8').digest('base64url');
  }

  /** The counter of a name, as the user lookup compares it; counted before the lookup. */
  nameCounter(name: string): LoginCounter {
    return `n.${this.identifierHash(name)}` as LoginCounter;
  }

  /** The counter of the account a name found, or for a name that found none, its stand-in. */
  accountCounter(accountId: string | null, name?: string): LoginCounter {
    if (accountId) return `a.${accountId}` as LoginCounter;
    return `u.${this.identifierHash(name ?? '')}` as LoginCounter;
  }

  /**
   * Counts an attempt on this counter, or refuses it with 429 while the counter must wait, after
   * calling `onRefused` (where the caller records the lockout).
   */
  async admit(counter: LoginCounter, onRefused?: () => void): Promise<void> {
    if (!this.enabled) return;
    const [admitted, value] = await this.store.run(
      async (client) =>
        (await client.eval(
          ADMIT_SCRIPT,
          2,
          this.keyOf(counter, 'attempts'),
          this.keyOf(counter, 'wait'),
          FREE_FAILURES,
          FAILURE_WINDOW_MS,
          FIRST_WAIT_MS,
          LONGEST_WAIT_MS,
        )) as [number, number],
      () => this.admitInMemory(counter),
    );
    if (admitted === 0) {
      onRefused?.();
      throw new AppError(ErrorCode.RateLimited, 'Too many failed sign-ins for this account; wait and try again.', {
        retryAfter: Math.ceil(value / 1000),
      });
    }
  }

  /** A correct password or a password reset: these counters (an account and its names) start afresh. */
  async succeeded(...counters: LoginCounter[]): Promise<void> {
    if (!this.enabled) return;
    await Promise.all(
      [...new Set(counters)].map((counter) =>
        this.store.run(
          async (client) => void (await client.del(this.keyOf(counter, 'attempts'), this.keyOf(counter, 'wait'))),
          () => void this.memory.delete(counter),
        ),
      ),
    );
  }

  /** A correct password or a password reset: the account and all of its names start afresh. */
  clearAccount(accountId: string, names: string[]): Promise<void> {
    return this.succeeded(this.accountCounter(accountId), ...names.map((name) => this.nameCounter(name)));
  }

  /** The attempt ended before its password was judged (or was refused on another counter): it does not count. */
  async abandoned(...counters: LoginCounter[]): Promise<void> {
    if (!this.enabled) return;
    await Promise.all(
      [...new Set(counters)].map((counter) =>
        this.store.run(
          (client) => client.eval(ABANDON_SCRIPT, 1, this.keyOf(counter, 'attempts')),
          () => {
            const state = this.memory.get(counter);
            if (state) state.attempts = Math.max(0, state.attempts - 1);
          },
        ),
      ),
    );
  }

  /** Both keys of a counter share a hash tag, so the scripts also run on Redis Cluster. */
  private keyOf(id: string, part: 'attempts' | 'wait'): string {
    return this.store.key('login', `{${id}}`, part);
  }

  private admitInMemory(id: string): [number, number] {
    const now = Date.now();
    let state = this.memory.get(id);
    if (state && state.waitUntil > now) return [0, state.waitUntil - now];
    if (!state || state.expiresAt <= now) {
      state = { attempts: 0, expiresAt: 0, waitUntil: 0 };
      this.memory.set(id, state, now);
    }
    state.attempts += 1;
    const wait = waitAfter(state.attempts);
    state.waitUntil = wait > 0 ? now + wait : 0;
    state.expiresAt = now + FAILURE_WINDOW_MS + wait;
    return [1, state.attempts];
  }

  private evictExpired(): void {
    this.memory.evictExpired();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweep);
  }
}

/**
 * The key of identifierHash, derived from the server's secret (JWT_ACCESS_SECRET, else the first
 * ENCRYPTION_KEY) with its own label, so the hashes cannot be reversed by hashing a list of addresses.
 */
function identifierKeyFrom(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), '', 'latch/login-identifier/v1', 32));
}
