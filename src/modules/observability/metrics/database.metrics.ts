// PostgreSQL visibility: the connection pool's state and the mail outbox backlog, read at scrape
// time, and the duration of every query, measured on the pooled clients so that both the
// histogram and the current request's Server-Timing ("db") see it.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import { performance } from 'node:perf_hooks';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { addRequestTiming, currentRequestContext } from '../../../common/request-context';
import { MailOutbox } from '../../mail/mail-outbox.service';
import { Metrics } from './metrics.service';

const INSTRUMENTED = Symbol('latch.instrumented');

type QueryFn = (...args: unknown[]) => unknown;

@Injectable()
export class DatabaseMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: MailOutbox,
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
      name: 'latch_db_pool_waiting_requests',
      help: 'Requests waiting for a free PostgreSQL pool connection',
      registers,
      collect() {
        if (pool) this.set(pool.waitingCount);
      },
    });
    const outbox = this.outbox;
    new Gauge({
      name: 'latch_mail_outbox_messages',
      help: 'Mail outbox messages by status: pending (waiting for delivery) and failed (parked after the last attempt)',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const backlog = await outbox.backlog().catch(() => undefined);
        if (!backlog) return;
        this.reset();
        this.set({ status: 'pending' }, backlog.pending);
        this.set({ status: 'failed' }, backlog.failed);
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
