// Read replicas (DATABASE_READ_URLS): the reads that tolerate replication lag (the admin user list
// and lookups, the session list, the metrics and health backlog queries) go to a replica; every
// other query, and everything that decides access (login, token and key checks on a cache miss,
// refresh, reset, MFA), stays on the primary DataSource.
//
// An explicit read pool, not TypeORM's `replication` option, because:
// - TypeORM sends every SELECT outside a transaction to a replica by default, so any read that
//   decides access (a session check, a login lookup) would read stale rows unless each one opted
//   out; here the primary is the default and a read reaches a replica only through read().
// - TypeORM picks a replica at random and never notices one that is down or lagging; here they are
//   taken round-robin among those the periodic check finds answering and within
//   DATABASE_READ_MAX_LAG_SECONDS, and a read that fails on a replica is answered by the primary.
// Each replica is its own DataSource with the primary's options (dataSourceOptions(): the same
// BoundedClient, connect, query, statement and lock timeouts, and DB_POOL_MAX), so a replica that
// stops answering costs a read at most those bounds before the primary answers it.
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { LatchConfig } from '../config/configuration';
import { settleWithin } from '../common/lifecycle/settle-within';
import { dataSourceOptions } from './data-source';

/** healthy: takes reads; lagging: answers but is too far behind; down: does not answer (or not yet). */
export type ReplicaState = 'healthy' | 'lagging' | 'down';

export interface ReplicaStatus {
  /** `replica-<n>`, n its position in DATABASE_READ_URLS (never the URL, which carries credentials). */
  name: string;
  state: ReplicaState;
  /** Seconds behind the primary at the last check; null when it did not answer. */
  lagSeconds: number | null;
}

/** The start waits at most this long for the first check, so replicas that answer take reads at once. */
const FIRST_CHECK_WAIT_MS = 3000;

/**
 * Replay lag in seconds: 0 while the replica has replayed all it has received (an idle primary
 * sends nothing, and the last replayed commit then grows old without the replica being behind),
 * otherwise the age of the last replayed transaction; 0 for a server that is not in recovery.
 */
const LAG_SQL = `SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT NULL AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
  END::float8 AS lag`;

interface Replica extends ReplicaStatus {
  dataSource: DataSource;
  connecting?: Promise<void>;
}

/** Whether an error is the statement's own (the primary would answer the same) rather than the replica's. */
function statementError(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: string }).code ?? '';
  // 08 connection, 40 (conflict with recovery), 53 resources, 57 cancelled/shut down, 58 system, XX internal.
  return code.length === 5 && !/^(08|40|53|57|58|XX)/.test(code);
}

@Injectable()
export class ReadReplicas implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ReadReplicas.name);
  private readonly replicas: Replica[];
  private readonly maxLagSeconds: number;
  private readonly checkIntervalMs: number;
  private next = 0;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;
  private stopped = false;
  private readonly poolListeners: ((pool: Pool) => void)[] = [];
  /** Reads served, by where: what latch_db_reads_total reports. */
  readonly served = { replica: 0, primary: 0, fallback: 0 };

  constructor(
    config: ConfigService<LatchConfig, true>,
    @InjectDataSource() private readonly primary: DataSource,
  ) {
    const database = config.get('database', { infer: true });
    this.maxLagSeconds = database.readMaxLagSeconds;
    this.checkIntervalMs = database.readCheckIntervalSeconds * 1000;
    this.replicas = database.readUrls.map((url, index) => ({
      name: `replica-${index}`,
      state: 'down',
      lagSeconds: null,
      // A replica cannot install extensions (read-only), and never runs migrations.
      dataSource: new DataSource({
        ...(dataSourceOptions(database, url) as PostgresDataSourceOptions),
        installExtensions: false,
      }),
    }));
  }

  /** Every read on `primary`: for tools that run outside the application (the cleanup CLI). */
  static primaryOnly(primary: DataSource): ReadReplicas {
    const config = { get: () => ({ readUrls: [], readMaxLagSeconds: 1, readCheckIntervalSeconds: 1 }) };
    return new ReadReplicas(config as unknown as ConfigService<LatchConfig, true>, primary);
  }

  get configured(): number {
    return this.replicas.length;
  }

  async onModuleInit(): Promise<void> {
    if (this.replicas.length === 0) return;
    await settleWithin([this.checkAll()], FIRST_CHECK_WAIT_MS);
    this.timer = setInterval(() => void this.checkAll(), this.checkIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await settleWithin([this.checking ?? Promise.resolve()], FIRST_CHECK_WAIT_MS);
    await Promise.allSettled(
      this.replicas.map((replica) => (replica.dataSource.isInitialized ? replica.dataSource.destroy() : undefined)),
    );
  }

  /**
   * Runs a lag-tolerant read on the next healthy replica, or on the primary when none is; a read
   * that fails on the replica for the replica's sake (not answering, shut down, cancelled) marks it
   * down until the next check finds it well and is answered by the primary, so a client never sees it.
   */
  async read<T>(work: (db: DataSource) => Promise<T>): Promise<T> {
    const replica = this.pick();
    if (!replica) {
      this.served.primary++;
      return work(this.primary);
    }
    try {
      const result = await work(replica.dataSource);
      this.served.replica++;
      return result;
    } catch (error) {
      if (statementError(error)) throw error;
      if (!(error instanceof QueryFailedError && /^40/.test(String(error.driverError?.code)))) {
        this.markDown(replica, 'a read failed');
      }
      this.served.fallback++;
      return work(this.primary);
    }
  }

  /** Each replica's state at the last check, for readiness and metrics. */
  status(): ReplicaStatus[] {
    return this.replicas.map(({ name, state, lagSeconds }) => ({ name, state, lagSeconds }));
  }

  /** Each initialized replica's pg pool, for the per-pool metrics. */
  pools(): { name: string; pool: Pool }[] {
    return this.replicas.flatMap(({ name, dataSource }) => {
      const pool = dataSource.isInitialized
        ? ((dataSource.driver as PostgresDriver).master as Pool | undefined)
        : undefined;
      return pool ? [{ name, pool }] : [];
    });
  }

  /** Calls `listener` with each replica's pg pool once it is connected (DatabaseMetrics times its queries). */
  onPool(listener: (pool: Pool) => void): void {
    this.poolListeners.push(listener);
    for (const { pool } of this.pools()) listener(pool);
  }

  private pick(): Replica | undefined {
    for (let i = 0; i < this.replicas.length; i++) {
      const replica = this.replicas[(this.next + i) % this.replicas.length];
      if (replica.state === 'healthy') {
        this.next = (this.next + i + 1) % this.replicas.length;
        return replica;
      }
    }
    return undefined;
  }

  private markDown(replica: Replica, why: string): void {
    if (replica.state !== 'down') this.logger.warn(`${replica.name} is down (${why}): its reads go to the primary`);
    replica.state = 'down';
    replica.lagSeconds = null;
  }

  /** One check of every replica at a time; a check already running is not doubled. */
  checkAll(): Promise<void> {
    this.checking ??= Promise.allSettled(this.replicas.map((replica) => this.check(replica))).then(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async check(replica: Replica): Promise<void> {
    try {
      if (!replica.dataSource.isInitialized) {
        replica.connecting ??= replica.dataSource
          .initialize()
          .then((dataSource) => {
            const pool = (dataSource.driver as PostgresDriver).master as Pool | undefined;
            if (pool) for (const listener of this.poolListeners) listener(pool);
          })
          .finally(() => (replica.connecting = undefined));
        await replica.connecting;
      }
      if (this.stopped) return;
      const [{ lag }] = (await replica.dataSource.query(LAG_SQL)) as { lag: number }[];
      const lagSeconds = Math.max(0, Number(lag));
      const state: ReplicaState = lagSeconds > this.maxLagSeconds ? 'lagging' : 'healthy';
      if (state !== replica.state) {
        const message = `${replica.name} is ${state} (${lagSeconds.toFixed(1)} s behind)`;
        if (state === 'healthy') this.logger.log(`${message}: it takes reads`);
        else this.logger.warn(`${message}: its reads go to the primary`);
      }
      replica.state = state;
      replica.lagSeconds = lagSeconds;
    } catch {
      this.markDown(replica, 'it does not answer');
    }
  }
}
