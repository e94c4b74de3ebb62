// Every Prometheus metric Latch exports, in a registry of its own per application instance (tests
// run several instances in one process). Other modules record through the small methods below;
// gauges that mirror state elsewhere (pool, outbox, cache) are filled by collectors at scrape time.
import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { addRequestTiming } from '../../../common/request-context';
import { SeriesHistogram } from './series-histogram';

export type AuthFlow = 'login' | 'refresh' | 'register';
export type BcryptOperation = 'hash' | 'compare';
/** success: this instance cleaned; skipped: another instance held the lock; failed: it threw. */
export type CleanupResult = 'success' | 'skipped' | 'failed';
/** success; invalid: unknown, malformed, expired or deleted key, or owner not active; forbidden: scope; rate_limited. */
export type ApiKeyResult = 'success' | 'invalid' | 'forbidden' | 'rate_limited';

@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new SeriesHistogram(
    'http_request_duration_seconds',
    'HTTP request duration in seconds, by method, route template and status code',
    ['method', 'route', 'status_code'] as const,
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    this.registry,
  );

  readonly authOutcomes: Record<AuthFlow, Counter<'result'>> = {
    login: new Counter({
      name: 'latch_login_attempts_total',
      help: 'Sign-in attempts (POST /auth/login and the password grant) by result',
      labelNames: ['result'] as const,
      registers: [this.registry],
    }),
    refresh: new Counter({
      name: 'latch_refresh_attempts_total',
      help: 'Refresh-token exchanges (POST /auth/refresh and the refresh_token grant) by result',
      labelNames: ['result'] as const,
      registers: [this.registry],
    }),
    register: new Counter({
      name: 'latch_registrations_total',
      help: 'Account registrations by result',
      labelNames: ['result'] as const,
      registers: [this.registry],
    }),
  };

  readonly apiKeyRequests = new Counter<'result'>({
    name: 'latch_api_key_requests_total',
    help: 'Requests presenting an API key (X-API-Key), by result: success, invalid, forbidden, rate_limited',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly refreshReuse = new Counter({
    name: 'latch_refresh_reuse_detected_total',
    help: 'Replaced refresh tokens presented after the grace window (possible theft; the session was revoked)',
    registers: [this.registry],
  });

  readonly bcryptDuration = new Histogram({
    name: 'latch_bcrypt_duration_seconds',
    help: 'Time spent hashing or comparing one password with bcrypt, in seconds (excludes queueing)',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2],
    registers: [this.registry],
  });

  private readBcryptQueue?: () => number;

  readonly bcryptQueueLength = new Gauge({
    name: 'latch_bcrypt_queue_length',
    help: 'Password checks waiting for a bcrypt slot (admission control), read at scrape time',
    registers: [this.registry],
    collect: () => {
      if (this.readBcryptQueue) this.bcryptQueueLength.set(this.readBcryptQueue());
    },
  });

  private readBcryptRejections?: () => number;

  readonly bcryptRejected = new Counter({
    name: 'latch_bcrypt_rejected_total',
    help: 'Password checks turned away with 503 because the bcrypt queue was full or the wait too long (load shedding)',
    registers: [this.registry],
    collect: () => {
      if (!this.readBcryptRejections) return;
      this.bcryptRejected.reset();
      this.bcryptRejected.inc(this.readBcryptRejections());
    },
  });

  readonly tokenCleanupRuns = new Counter({
    name: 'latch_token_cleanup_runs_total',
    help: 'Scheduled token cleanup runs on this instance by result (skipped: another instance held the lock)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly tokenCleanupLastSuccess = new Gauge({
    name: 'latch_token_cleanup_last_success_timestamp_seconds',
    help: 'Unix time of the last token cleanup run this instance completed (0 until the first one)',
    registers: [this.registry],
  });

  readonly dbQueryDuration = new Histogram({
    name: 'latch_db_query_duration_seconds',
    help: 'PostgreSQL query round-trip time in seconds',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });

  constructor() {
    // Process metrics (CPU, memory, file descriptors, GC) and event-loop lag (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry });
    // Present at 0 from the start, so that rate() and increase() see the first run.
    for (const result of ['success', 'skipped', 'failed'] as const) this.tokenCleanupRuns.inc({ result }, 0);
  }

  recordAuthOutcome(flow: AuthFlow, result: string): void {
    this.authOutcomes[flow].inc({ result });
  }

  /** One bcrypt operation took `seconds`; also counted toward the current request's Server-Timing. */
  observeBcrypt(operation: BcryptOperation, seconds: number): void {
    this.bcryptDuration.observe({ operation }, seconds);
    addRequestTiming('bcrypt', seconds * 1000);
  }

  /** Where the bcrypt admission queue's length is read at each scrape. */
  trackBcryptQueue(read: () => number): void {
    this.readBcryptQueue = read;
  }

  /** Where the number of password checks the bcrypt gate turned away is read at each scrape. */
  trackBcryptRejections(read: () => number): void {
    this.readBcryptRejections = read;
  }

  /** One scheduled token cleanup run ended. */
  recordTokenCleanup(result: CleanupResult): void {
    this.tokenCleanupRuns.inc({ result });
    if (result === 'success') this.tokenCleanupLastSuccess.setToCurrentTime();
  }

  /** Prometheus text exposition of every metric of this instance. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
