// The run: opens the databases and the mail sink, then per bcrypt cost starts a fresh server on a
// fresh database, seeds it, runs the selected scenarios in order, records memory, and stops it.
import Redis from 'ioredis';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SCENARIOS, selected } from '../scenarios';
import { BenchDatabase, BenchDatabaseServer, openDatabaseServer } from './database';
import { log } from './http';
import { MailSink, startMailSink } from './mail-sink';
import { describeMemoryMap, readMemoryMap } from './memory-map';
import { durations, Options } from './options';
import { Phase } from './phase';
import { Child, LatchServer, readRss, ROOT, shippedEnv, shippedNodeFlags } from './processes';
import { CostBaselines, fmt, PhaseInfo, RunReport, statementDeltas } from './results';
import { seedPhase } from './seed';

export class BenchRunner {
  readonly report: RunReport;
  private readonly d: ReturnType<typeof durations>;
  private readonly children: Child[] = [];
  private databases?: BenchDatabaseServer;
  private mail?: MailSink;
  private readonly poolMax = Number(process.env.DB_POOL_MAX ?? 20);
  private readonly profileDir?: string;
  // What ships (`npm start`, the image), unless BENCH_SERVER_NODE_OPTIONS replaces it for a run.
  private readonly nodeFlags = process.env.BENCH_SERVER_NODE_OPTIONS ? [] : shippedNodeFlags();

  constructor(
    private readonly options: Options,
    private readonly stamp: string,
  ) {
    this.d = durations(options.smoke);
    let commit = 'unknown';
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      // not a git checkout
    }
    this.profileDir = options.profile ? join(ROOT, 'bench', 'results', `profile-${stamp}`) : undefined;
    this.report = {
      startedAt: new Date().toISOString(),
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      mode: options.smoke ? 'smoke' : 'full',
      commit,
      machine: {
        cores: availableParallelism(),
        cpu: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        loadAverage: loadavg(),
      },
      setup: {},
      phases: [],
      baselines: { bcrypt: [], fastify: [], nest: [], database: [] },
      scenarios: [],
      targets: [],
      problems: [],
    };
  }

  async run(): Promise<void> {
    this.databases = await openDatabaseServer(process.env.DATABASE_URL);
    this.mail = await startMailSink(1000);
    Object.assign(this.report.setup, {
      database: `${this.databases.description}, a fresh database per server start`,
      redis: process.env.REDIS_URL ? 'REDIS_URL' : 'none (in-memory cache)',
      mail: 'local SMTP sink answering each message after 1 s',
      dbPoolMax: this.poolMax,
      bcryptConcurrency: process.env.BCRYPT_CONCURRENCY ?? 'default (cores)',
      serverNodeOptions: process.env.BENCH_SERVER_NODE_OPTIONS
        ? `NODE_OPTIONS=${process.env.BENCH_SERVER_NODE_OPTIONS} (BENCH_SERVER_NODE_OPTIONS, not what ships)`
        : `${this.nodeFlags.join(' ')} (as npm start and the image)`,
      serverMalloc: Object.entries(this.serverMalloc())
        .map(([name, value]) => `${name}=${value}`)
        .join(' '),
      loadGenerator: 'autocannon 9, closed loop, pipelining 1, in the bench process',
    });
    for (const [index, cost] of this.options.costs.entries()) {
      await this.phase(cost, index === 0);
    }
  }

  /** The image's glibc malloc settings, each replaced by the bench's own environment where it sets one. */
  private serverMalloc(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.inheritedEnv()).filter(([key]) => key.startsWith('MALLOC_')));
  }

  /** The bench's own environment over the image's malloc settings: what the server starts from. */
  private inheritedEnv(): Record<string, string> {
    const env = shippedEnv();
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
    return env;
  }

  private serverEnv(cost: number, database: BenchDatabase, dataDir: string): Record<string, string> {
    const env = this.inheritedEnv();
    Object.assign(env, {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: randomBytes(48).toString('base64url'),
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      RATE_LIMIT_ENABLED: 'false',
      BCRYPT_ROUNDS: String(cost),
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      SMTP_URL: this.mail!.url,
      APP_URL: 'http://127.0.0.1',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    });
    // The shipped flags go on the command line (which wins over NODE_OPTIONS); the bench's own
    // NODE_OPTIONS is not the server's. BENCH_SERVER_NODE_OPTIONS replaces the shipped flags.
    delete env.NODE_OPTIONS;
    if (process.env.BENCH_SERVER_NODE_OPTIONS) env.NODE_OPTIONS = process.env.BENCH_SERVER_NODE_OPTIONS;
    delete env.ADMIN_EMAIL;
    delete env.ADMIN_PASSWORD;
    if (env.REDIS_URL) env.REDIS_KEY_PREFIX = `latch-bench-${process.pid}:`;
    return env;
  }

  /** One server start at one bcrypt cost; `first`: every scenario, else only the bcrypt-bound ones. */
  private async phase(cost: number, first: boolean): Promise<void> {
    const flags = this.nodeFlags.length > 0 ? `node ${this.nodeFlags.join(' ')}` : 'node';
    log(
      `\n== bcrypt cost ${cost}: starting Latch (${flags} dist/main.js, NODE_ENV=production, RATE_LIMIT_ENABLED=false)`,
    );
    const dataDir = join(ROOT, '.data', `bench-${process.pid}-run-${cost}`);
    // A fresh database per server start: nothing left by the previous phase (say, an outbox of
    // reset mails still being delivered) runs in the background of this one.
    const database = await this.databases!.create(`c${cost}`);
    const env = this.serverEnv(cost, database, dataDir);
    const server = await LatchServer.start({ env, nodeFlags: this.nodeFlags });
    this.children.push(server);
    try {
      const info = await this.idle(server, cost);
      this.report.phases.push(info);
      const bcrypt: CostBaselines = { cost };
      this.report.baselines.bcrypt.push(bcrypt);
      const seed = await seedPhase(server.baseUrl, database.url, cost);
      const phase = new Phase({
        server,
        cost,
        d: this.d,
        report: this.report,
        info,
        bcrypt,
        seed,
        databaseUrl: database.url,
        poolMax: this.poolMax,
        children: this.children,
        profileDir: this.profileDir,
        startServer: async (changed) => {
          const other = await LatchServer.start({
            // The same secrets, so it opens what the first one stored; a data directory of its own.
            env: { ...env, DATA_DIR: join(dataDir, `server-${this.children.length}`), ...changed },
            nodeFlags: this.nodeFlags,
          });
          this.children.push(other);
          return other;
        },
      });
      for (const scenario of SCENARIOS) {
        if ((first || scenario.everyCost) && selected(scenario, this.options.only)) {
          await scenario.run(phase);
          if (this.options.memory) await this.memoryAfter(server, scenario.name);
        }
      }
      info.rssPeakMb = readRss(server.pid).peakMb;
      await sleep(this.d.settleAfterLoadSec * 1000);
      info.rssIdleAfterLoadMb = readRss(server.pid).rssMb;
      const collected = await server.collectGarbage();
      info.rssAfterGcMb = readRss(server.pid).rssMb;
      info.heapLiveAfterGcMb = collected.heapUsedBytes / 2 ** 20;
      log(
        `after the scenarios: peak RSS ${fmt(info.rssPeakMb, 0)} MB, idle ${fmt(info.rssIdleAfterLoadMb, 0)} MB; after a full GC: RSS ${fmt(info.rssAfterGcMb, 0)} MB, live heap ${fmt(info.heapLiveAfterGcMb, 0)} MB`,
      );
    } finally {
      const code = await server.stop();
      // docs/operations.md: SIGTERM drains and exits 0. 143 is "ended by SIGTERM" without that.
      if (code !== 0) {
        const tail = code === 143 ? '' : `:\n${server.output().split('\n').slice(-8).join('\n')}`;
        this.report.problems.push(
          `cost ${cost}: the server exited with ${code} after SIGTERM (docs/operations.md expects 0)${tail}`,
        );
      }
      await rm(dataDir, { recursive: true, force: true });
      await database.drop();
    }
  }

  /**
   * `--memory`: the server's memory right after a scenario and once it has been quiet for as long
   * as the run settles at its end, split by kind (lib/memory-map.ts).
   */
  private async memoryAfter(server: LatchServer, scenario: string): Promise<void> {
    const heap = await server.snapshot();
    const rss = readRss(server.pid).rssMb;
    await sleep(this.d.settleAfterLoadSec * 1000);
    const map = readMemoryMap(server.pid);
    log(
      `  memory after ${scenario}: RSS ${fmt(rss, 1)} MB, ${fmt(readRss(server.pid).rssMb, 1)} MB ${this.d.settleAfterLoadSec} s later ` +
        `(V8 heap ${fmt(heap.heapTotalBytes / 2 ** 20, 1)} MB at the end of the scenario)` +
        (map ? `: ${describeMemoryMap(map)}` : ''),
    );
  }

  /** RSS idle after start, and the round trips the server makes on its own over 2 s. */
  private async idle(server: LatchServer, cost: number): Promise<PhaseInfo> {
    await sleep(1000);
    const rssIdleMb = readRss(server.pid).rssMb;
    const before = await server.snapshot();
    await sleep(2000);
    const after = await server.snapshot();
    const info: PhaseInfo = {
      cost,
      rssIdleMb,
      rssPeakMb: 0,
      backgroundDbQueriesPerSec: (after.pgQueries - before.pgQueries) / 2,
      backgroundStatements: statementDeltas(before.pgStatements, after.pgStatements, 2, '', 16),
    };
    log(`idle RSS ${fmt(info.rssIdleMb, 0)} MB, ${fmt(info.backgroundDbQueriesPerSec, 2)} background DB round trips/s`);
    for (const s of info.backgroundStatements.slice(0, 4)) log(`    ${s.perRequest.toFixed(2)}/s  ${s.statement}`);
    return info;
  }

  async cleanup(): Promise<void> {
    for (const child of this.children) child.kill();
    await this.mail?.close().catch(() => undefined);
    await this.databases
      ?.close()
      .catch((error: unknown) => this.report.problems.push(`dropping the bench databases: ${String(error)}`));
    if (process.env.REDIS_URL) await this.cleanRedis(process.env.REDIS_URL).catch(() => undefined);
  }

  /** The run's keys (own prefix) leave the shared Redis with the run. */
  private async cleanRedis(url: string): Promise<void> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `latch-bench-${process.pid}:*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }

  writeResults(): string {
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${this.options.smoke ? 'smoke-' : ''}${this.stamp}.json`);
    writeFileSync(file, `${JSON.stringify(this.report, null, 2)}\n`);
    return relative(ROOT, file);
  }
}
