// PostgreSQL visibility: the connection pool's state and size, whether PostgreSQL answers (what
// readiness hinges on) and the mail outbox backlog, read at scrape time, and the duration of every
// query, measured on the pooled clients so that both the histogram and the current request's
// Server-Timing ("db") see it. With DATABASE_READ_URLS, each replica's pool, state and lag, and
// where the lag-tolerant reads were served (latch_db_replica_*, latch_db_reads_total); the
// latch_db_pool_* series stay the primary's, so the alert rules and the dashboard keep their meaning.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { addRequestTiming, currentRequestContext } from '../../../common/request-context';
import { MailBacklog, MailOutbox } from '../../mail/mail-outbox.service';
import { settleWithin } from '../../../common/lifecycle/settle-within';
import { ReadReplicas } from '../../../database/read-replicas';
import { Metrics } from './metrics.service';

const INSTRUMENTED = Symbol('latch.instrumented');
/** As the readiness probe's own ping (src/modules/health/indicators/database.indicator.ts). */
const READY_PING_TIMEOUT_MS = 1500;

type QueryFn = (...args: unknown[]) => unknown;

@Injectable()
export class DatabaseMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: MailOutbox,
    private readonly replicas: ReadReplicas,
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
    this.replicaMetrics();
    const dataSource = this.dataSource;
    const outbox = this.outbox;
    // The two outbox gauges, collected side by side within one scrape, share one query.
    let inFlight: Promise<MailBacklog | undefined> | undefined;
    const backlogNow = (): Promise<MailBacklog | undefined> => {
      inFlight ??= outbox
        .backlog()
        .catch(() => undefined)
        .finally(() => (inFlight = undefined));
      return inFlight;
    };
    new Gauge({
      name: 'latch_ready',
      help: 'Whether /health/readiness would answer 200 (1: PostgreSQL answers within 1.5 s; 0: it does not)',
      registers,
      async collect() {
        const ping = dataSource.query('SELECT 1').then(
          () => true,
          () => false,
        );
        this.set((await settleWithin([ping], READY_PING_TIMEOUT_MS)) && (await ping) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'latch_mail_outbox_messages',
      help: 'Mail outbox messages by status: pending (waiting for delivery) and failed (parked after the last attempt)',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const backlog = await backlogNow();
        if (!backlog) return;
        this.reset();
        this.set({ status: 'pending' }, backlog.pending);
        this.set({ status: 'failed' }, backlog.failed);
      },
    });
    new Gauge({
      name: 'latch_mail_outbox_oldest_pending_age_seconds',
      help: 'How long the oldest pending mail has waited in the outbox, in seconds (0 when none waits)',
      registers,
      async collect() {
        const backlog = await backlogNow();
        if (!backlog) return;
        const oldest = backlog.oldestPendingAt;
        this.set(oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0);
      },
    });
    pool?.on('acquire', (client) => this.instrument(client));
    this.replicas.onPool((replicaPool) => replicaPool.on('acquire', (client) => this.instrument(client)));
  }

  /** Per-replica pool, state and lag, and where lag-tolerant reads went (only with DATABASE_READ_URLS). */
  private replicaMetrics(): void {
    const replicas = this.replicas;
    if (replicas.configured === 0) return;
    const registers = [this.metrics.registry];
    new Gauge({
      name: 'latch_db_replica_pool_connections',
      help: 'Read replica pool connections by replica and state (in_use: checked out by a read)',
      labelNames: ['replica', 'state'] as const,
      registers,
      collect() {
        this.reset();
        for (const { name, pool } of replicas.pools()) {
          this.set({ replica: name, state: 'in_use' }, pool.totalCount - pool.idleCount);
          this.set({ replica: name, state: 'idle' }, pool.idleCount);
        }
      },
    });
    new Gauge({
      name: 'latch_db_replica_healthy',
      help: 'Whether a read replica takes reads (1), or is down or lagging and skipped for the primary (0)',
      labelNames: ['replica'] as const,
      registers,
      collect() {
        for (const { name, state } of replicas.status()) this.set({ replica: name }, state === 'healthy' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'latch_db_replica_lag_seconds',
      help: 'Replication lag of a read replica at its last check, in seconds (absent while it does not answer)',
      labelNames: ['replica'] as const,
      registers,
      collect() {
        this.reset();
        for (const { name, lagSeconds } of replicas.status()) {
          if (lagSeconds !== null) this.set({ replica: name }, lagSeconds);
        }
      },
    });
    new Counter({
      name: 'latch_db_reads_total',
      help: 'Lag-tolerant reads by where they were served: replica, primary (no healthy replica) or fallback (failed on a replica, answered by the primary)',
      labelNames: ['target'] as const,
      registers,
      collect() {
        this.reset();
        for (const [target, count] of Object.entries(replicas.served)) this.inc({ target }, count);
      },
    });
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
