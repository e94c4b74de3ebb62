// Owns every bcrypt call. bcrypt's async API runs on libuv's thread pool, never on the event loop.
// Passwords are NFKC-normalised and pre-hashed with HMAC-SHA-256 so that every character counts
// despite bcrypt reading only 72 bytes (bcrypt gets the 44-character base64 of the MAC, which has no
// NUL). The HMAC key is a fixed label written in this file, not a secret and so not a pepper: it
// adds nothing against someone holding the bcrypt hashes, it only keeps this pre-hash apart from
// plain SHA-256, so that lists of leaked unsalted SHA-256 hashes cannot be tried against bcrypt
// hashes directly ("shucking"). Unknown accounts are compared against a dummy hash of the same cost.
// Every hash and comparison passes an admission gate: at most BCRYPT_CONCURRENCY at once (kept
// below libuv's thread pool, which compression, DNS and file I/O also need), BCRYPT_QUEUE_MAX
// waiting, and past that a 503 with Retry-After, so a login storm cannot starve the service.
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import * as bcrypt from 'bcrypt';
import { createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LatchConfig } from '../../../config/configuration';
import { BcryptOperation, Metrics } from '../../observability/metrics/metrics.service';
import { AdmissionGate } from './admission-gate';
import { normalizePassword } from './password-policy';

/** A public label that separates this pre-hash from other uses of SHA-256; changing it invalidates every stored hash. */
const PREHASH_KEY = 'latch/bcrypt-prehash/v1';
/** A login never waits longer than this for its turn (docs/operations.md: no request waits more than 10 s). */
const MAX_QUEUE_WAIT_MS = 5_000;
const THREAD_POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE) || 4;

export function prehash(password: string): string {
  return createHmac('sha256', PREHASH_KEY).update(normalizePassword(password), 'utf8').digest('base64');
}

@Injectable()
export class PasswordHasher implements OnModuleInit {
  private readonly logger = new Logger(PasswordHasher.name);
  private readonly rounds: number;
  private readonly gate: AdmissionGate;
  private dummyHash: Promise<string>;

  constructor(
    config: ConfigService<LatchConfig, true>,
    private readonly metrics: Metrics,
  ) {
    const auth = config.get('auth', { infer: true });
    this.rounds = auth.bcryptRounds;
    // One pool thread always stays free for the rest of the process.
    const concurrency = Math.max(1, Math.min(auth.bcryptConcurrency, THREAD_POOL_SIZE - 1));
    if (concurrency < auth.bcryptConcurrency) {
      this.logger.warn(
        `BCRYPT_CONCURRENCY=${auth.bcryptConcurrency} is capped at ${concurrency}: raise UV_THREADPOOL_SIZE ` +
          `(now ${THREAD_POOL_SIZE}) above it to hash more passwords at once`,
      );
    }
    this.gate = new AdmissionGate({ concurrency, queueMax: auth.bcryptQueueMax, maxWaitMs: MAX_QUEUE_WAIT_MS });
    this.metrics.trackBcryptQueue(() => this.gate.stats.queued);
    this.metrics.trackBcryptRejections(() => this.gate.rejected);
  }

  onModuleInit(): void {
    this.dummyHash = bcrypt.hash(randomBytes(16).toString('hex'), this.rounds);
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() => this.timed('hash', () => bcrypt.hash(prehash(password), this.rounds)));
  }

  /** Compares against the stored hash, or spends the same work on a dummy hash when there is none. */
  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    const target = hash ?? (await this.dummyHash);
    const matches = await this.gate.run(() => this.timed('compare', () => bcrypt.compare(prehash(password), target)));
    return matches && hash !== null && hash !== undefined;
  }

  /** True when the stored hash was made with a lower cost than configured. */
  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) < this.rounds;
  }

  /** bcrypt time only (not the wait for a slot), for the metrics and the request's Server-Timing. */
  private async timed<T>(operation: BcryptOperation, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.metrics.observeBcrypt(operation, (performance.now() - started) / 1000);
    }
  }
}
