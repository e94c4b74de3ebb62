// PostgreSQL visibility: the connection pool's state and size, whether PostgreSQL answers (what
// readiness hinges on) and the mail outbox backlog, read at scrape time, and the duration of every
// query, measured on the pooled clients so that both the histogram and the current request's
// Server-Timing ("db") see it.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import { performance } from 'node:perf_hooks';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { addRequestTiming, currentRequestContext } from '../../../common/request-context';
import { Metrics } from './metrics.service';

const INSTRUMENTED = Symbol('latch.instrumented');
/** A scrape must answer even when the database does not. */
const OUTBOX_QUERY_TIMEOUT_MS = 1000;
/** As the readiness probe's own ping (src/modules/health/indicators/database.indicator.ts). */
const READY_PING_TIMEOUT_MS = 1500;

type QueryFn = (...args: unknown[]) => unknown;

@Injectable()
export class DatabaseMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool | undefined;
    const registers = [this.metrics.registry];
    new Gauge({
      name: 'latch_db_pool_connections',
      help: 'PostgreSQL pool connections by state (in_use: checked out by a query or transaction)',
      labelNames: ['state'] as const,
      registers,
      collect() {
        if (!pool) return;
        this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
        this.set({ state: 'idle' }, pool.idleCount);
      },
    });
    new Gauge({
      name: 'latch_db_pool_max_connections',
      help: 'Size limit of the PostgreSQL pool (DB_POOL_MAX): in_use connections over this is how full it is',
      registers,
      collect() {
        if (pool?.options.max !== undefined) this.set(pool.options.max);
      },
    });
    new Gauge({
      name: 'latch_db_pool_waiting_requests',
      help: 'Requests waiting for a free PostgreSQL pool connection',
      registers,
      collect() {
        if (pool) this.set(pool.waitingCount);
      },
    });
    const dataSource = this.dataSource;
    // The two outbox gauges, collected side by side within one scrape, share one query.
    let inFlight: Promise<OutboxCounts | undefined> | undefined;
    const outboxNow = (): Promise<OutboxCounts | undefined> => {
      inFlight ??= countOutbox(dataSource).finally(() => (inFlight = undefined));
      return inFlight;
    };
    new Gauge({
      name: 'latch_ready',
      help: 'Whether /health/readiness would answer 200 (1: PostgreSQL answers within 1.5 s; 0: it does not)',
      registers,
      async collect() {
        this.set((await within(dataSource.query('SELECT 1'), READY_PING_TIMEOUT_MS)) === undefined ? 0 : 1);
      },
    });
    new Gauge({
      name: 'latch_mail_outbox_messages',
      help: 'Mail outbox messages by status: pending (waiting for delivery) and failed (parked after the last attempt)',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const counts = await outboxNow();
        if (!counts) return;
        this.reset();
        for (const status of ['pending', 'failed'] as const) this.set({ status }, counts[status]);
      },
    });
    new Gauge({
      name: 'latch_mail_outbox_oldest_pending_age_seconds',
      help: 'How long the oldest pending mail has waited in the outbox, in seconds (0 when none waits)',
      registers,
      async collect() {
        const counts = await outboxNow();
        if (counts) this.set(counts.oldestPendingSeconds);
      },
    });
    pool?.on('acquire', (client) => this.instrument(client));
  }

  /** Wraps a pooled client's query() once, timing both its promise and its callback forms. */
  private instrument(client: PoolClient): void {
    const target = client as PoolClient & { [INSTRUMENTED]?: true };
    if (target[INSTRUMENTED]) return;
    target[INSTRUMENTED] = true;
    const original = client.query.bind(client) as QueryFn;
    const metrics = this.metrics;
    const timed: QueryFn = (...args) => {
      const context = currentRequestContext();
      const started = performance.now();
      const finish = (): void => {
        const ms = performance.now() - started;
        metrics.dbQueryDuration.observe(ms / 1000);
        addRequestTiming('db', ms, context);
      };
      const callback = args[args.length - 1];
      if (typeof callback === 'function') {
        args[args.length - 1] = (...results: unknown[]) => {
          finish();
          return (callback as QueryFn)(...results);
        };
        return original(...args);
      }
      const result = original(...args);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(finish, finish);
      }
      return result;
    };
    (client as unknown as { query: QueryFn }).query = timed;
  }
}

interface OutboxCounts {
  pending: number;
  failed: number;
  oldestPendingSeconds: number;
}

/** Pending and failed outbox rows and the oldest pending age, or undefined (no table, slow database). */
function countOutbox(dataSource: DataSource): Promise<OutboxCounts | undefined> {
  return within(
    (async () => {
      const [table] = await dataSource.query<{ present: boolean }[]>(
        `SELECT to_regclass('mail_outbox') IS NOT NULL AS present`,
      );
      if (!table?.present) return undefined;
      const [row] = await dataSource.query<OutboxCounts[]>(
        `SELECT count(*) FILTER (WHERE status = 'pending')::int AS "pending",
                count(*) FILTER (WHERE status = 'failed')::int AS "failed",
                coalesce(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE status = 'pending')), 0)::float8
                  AS "oldestPendingSeconds"
           FROM mail_outbox WHERE status IN ('pending', 'failed')`,
      );
      return row;
    })(),
    OUTBOX_QUERY_TIMEOUT_MS,
  );
}

/** The promise's value, or undefined when it fails or takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
