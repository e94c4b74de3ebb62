// `npm run bench [-- --smoke] [-- --only=login,me] [-- --costs=12,10] [-- --profile]`
// Starts the built service in production mode (rate limits off) as a child process, seeds it,
// drives it over loopback with autocannon from this process, measures the baselines in the same
// run, prints the tables and targets, and writes bench/results/<timestamp>.json. Every step is
// bounded in time; a watchdog ends the run if something hangs.
import Redis from 'ioredis';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bcryptCeiling, bcryptCompareLatency, dbRoundTrip } from './lib/baselines';
import { BenchDatabase, BenchDatabaseServer, cloneAccounts, openDatabaseServer } from './lib/database';
import { ClientRequests, jsonRequest, LoadResult, LoadSpec, runLoad } from './lib/load';
import { MailSink, startMailSink } from './lib/mail-sink';
import type { ProbeSnapshot } from './lib/probe';
import { Child, LatchServer, readRss, ROOT, startBareFastify } from './lib/processes';
import {
  CostBaselines,
  evaluateTargets,
  PhaseInfo,
  renderReport,
  RunReport,
  ScenarioResult,
  routeDelta,
  StatementCount,
  statementDeltas,
} from './lib/report';

const SCENARIOS = ['ceiling', 'login', 'register', 'me', 'refresh', 'forgot', 'storm', 'db'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

interface Options {
  smoke: boolean;
  only: Set<ScenarioName>;
  costs: number[];
  profile: boolean;
}

function parseArgs(argv: string[]): Options {
  const smoke = argv.includes('--smoke');
  const value = (name: string): string | undefined =>
    argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const only = value('only')?.split(',') ?? [...SCENARIOS];
  for (const name of only) {
    if (!(SCENARIOS as readonly string[]).includes(name))
      throw new Error(`--only: unknown scenario "${name}" (${SCENARIOS.join(', ')})`);
  }
  // Smoke: one phase at cost 10 (the production minimum) so it stays fast; full: the production
  // default 12 (every scenario) and 10 (the bcrypt-bound ones, to compare with other services).
  const costs = (value('costs') ?? (smoke ? '10' : '12,10')).split(',').map(Number);
  if (costs.some((c) => !Number.isInteger(c) || c < 10 || c > 15)) throw new Error('--costs: bcrypt costs 10 to 15');
  return { smoke, only: new Set(only as ScenarioName[]), costs, profile: argv.includes('--profile') };
}

/** Seconds per step; smoke keeps every scenario but only for a few seconds. */
function durations(smoke: boolean) {
  return smoke
    ? {
        ceilingMs: 1000,
        compareSamples: 3,
        loginC1: 2,
        bcryptLoad: 3,
        // c64 bcrypt queues take seconds to drain; smoke exercises the same code at c16.
        bcryptConcurrency: [16],
        stormConnections: 16,
        fast: 2,
        warmup: 1,
        storm: 5,
        stormProbeDelay: 1,
        dbMs: 1000,
        quiesceSec: 15,
        watchdogMin: 4,
      }
    : {
        ceilingMs: 5000,
        compareSamples: 12,
        loginC1: 10,
        bcryptLoad: 15,
        bcryptConcurrency: [16, 64],
        stormConnections: 64,
        fast: 10,
        warmup: 2,
        storm: 20,
        stormProbeDelay: 3,
        dbMs: 5000,
        quiesceSec: 60,
        watchdogMin: 25,
      };
}

const PASSWORD = 'Bench-only passphrase 7f3k!';
const API = '/api/v1';
const CONCURRENCY = [16, 64];

interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

function log(line: string): void {
  console.log(line);
}

function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

async function request(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

/** SQL statements and Redis commands ("redis X") apart. */
function splitRoundTrips(all: StatementCount[]): { dbStatements: StatementCount[]; redisCommands: StatementCount[] } {
  return {
    dbStatements: all.filter((s) => !s.statement.startsWith('redis ')).slice(0, 8),
    redisCommands: all.filter((s) => s.statement.startsWith('redis ')).slice(0, 8),
  };
}

class Bench {
  readonly report: RunReport;
  private readonly d: ReturnType<typeof durations>;
  private readonly children: Child[] = [];
  private databases?: BenchDatabaseServer;
  /** The database of the server start in progress. */
  private database?: BenchDatabase;
  private mail?: MailSink;
  private readonly poolMax = Number(process.env.DB_POOL_MAX ?? 20);
  private readonly profileDir?: string;

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
      baselines: { bcrypt: [], fastify: [], database: [] },
      scenarios: [],
      targets: [],
      problems: [],
    };
  }

  private wants(name: ScenarioName): boolean {
    return this.options.only.has(name);
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
      serverNodeOptions: process.env.BENCH_SERVER_NODE_OPTIONS ?? 'none',
      loadGenerator: 'autocannon 9, closed loop, pipelining 1, in the bench process',
    });
    for (const [index, cost] of this.options.costs.entries()) {
      await this.phase(cost, index === 0);
    }
  }

  private serverEnv(cost: number, dataDir: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
    Object.assign(env, {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: randomBytes(48).toString('base64url'),
      RATE_LIMIT_ENABLED: 'false',
      BCRYPT_ROUNDS: String(cost),
      DATABASE_URL: this.database!.url,
      DATA_DIR: dataDir,
      SMTP_URL: this.mail!.url,
      APP_URL: 'http://127.0.0.1',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    });
    // Runtime flags for the server alone (e.g. a heap budget), without touching the bench process.
    if (process.env.BENCH_SERVER_NODE_OPTIONS) env.NODE_OPTIONS = process.env.BENCH_SERVER_NODE_OPTIONS;
    delete env.ADMIN_EMAIL;
    delete env.ADMIN_PASSWORD;
    if (env.REDIS_URL) env.REDIS_KEY_PREFIX = `latch-bench-${process.pid}:`;
    return env;
  }

  /** One server start at one bcrypt cost; `all`: every scenario, else only the bcrypt-bound ones. */
  private async phase(cost: number, all: boolean): Promise<void> {
    log(`\n== bcrypt cost ${cost}: starting Latch (dist/main.js, NODE_ENV=production, RATE_LIMIT_ENABLED=false)`);
    const dataDir = join(ROOT, '.data', `bench-${process.pid}-run-${cost}`);
    // A fresh database per server start: nothing left by the previous phase (say, an outbox of
    // reset mails still being delivered) runs in the background of this one.
    this.database = await this.databases!.create(`c${cost}`);
    const server = await LatchServer.start({ env: this.serverEnv(cost, dataDir) });
    this.children.push(server);
    try {
      await sleep(1000);
      const info: PhaseInfo = {
        cost,
        rssIdleMb: readRss(server.pid).rssMb,
        rssPeakMb: 0,
        backgroundDbQueriesPerSec: 0,
        backgroundStatements: [],
        readinessPath: null,
        forgotPasswordPresent: false,
      };
      const before = await server.snapshot();
      await sleep(2000);
      const after = await server.snapshot();
      info.backgroundDbQueriesPerSec = (after.pgQueries - before.pgQueries) / 2;
      info.backgroundStatements = statementDeltas(before.pgStatements, after.pgStatements, 2, '', 16);
      log(
        `idle RSS ${fmt(info.rssIdleMb, 0)} MB, ${fmt(info.backgroundDbQueriesPerSec, 2)} background DB round trips/s`,
      );
      for (const s of info.backgroundStatements.slice(0, 4)) log(`    ${s.perRequest.toFixed(2)}/s  ${s.statement}`);
      this.report.phases.push(info);
      await this.phaseScenarios(server, cost, all, info);
      info.rssPeakMb = readRss(server.pid).peakMb;
      const collected = await server.collectGarbage();
      info.rssAfterGcMb = readRss(server.pid).rssMb;
      info.heapLiveAfterGcMb = collected.heapUsedBytes / 2 ** 20;
      log(
        `after the scenarios: peak RSS ${fmt(info.rssPeakMb, 0)} MB; after a full GC: RSS ${fmt(info.rssAfterGcMb, 0)} MB, live heap ${fmt(info.heapLiveAfterGcMb, 0)} MB`,
      );
    } finally {
      const code = await server.stop();
      // docs/operations.md, "Shutdown": SIGTERM drains and exits 0. 143 is "ended by SIGTERM" without that.
      if (code !== 0) {
        const tail = code === 143 ? '' : `:\n${server.output().split('\n').slice(-8).join('\n')}`;
        this.report.problems.push(
          `cost ${cost}: the server exited with ${code} after SIGTERM (docs/operations.md expects 0)${tail}`,
        );
      }
      await rm(dataDir, { recursive: true, force: true });
      await this.database.drop();
    }
  }

  private async phaseScenarios(server: LatchServer, cost: number, all: boolean, info: PhaseInfo): Promise<void> {
    const base = server.baseUrl;
    // Seed: one account through the API (its hash is made by the service at this cost), cloned by SQL.
    const templateEmail = `seed-c${cost}@bench.example.com`;
    const registered = await request(base, 'POST', `${API}/auth/register`, {
      email: templateEmail,
      password: PASSWORD,
    });
    if (registered.status !== 201)
      throw new Error(`seeding: register answered ${registered.status} ${JSON.stringify(registered.json)}`);
    const emails = await cloneAccounts(this.database!.url, templateEmail, `c${cost}-u`, 500);
    const seedLogin = await request(base, 'POST', `${API}/auth/login`, { email: templateEmail, password: PASSWORD });
    if (seedLogin.status !== 200)
      throw new Error(`seeding: login answered ${seedLogin.status} ${JSON.stringify(seedLogin.json)}`);
    const probeToken: string = seedLogin.json.accessToken;
    const readiness = await request(base, 'GET', '/health/readiness');
    const liveness = readiness.status === 404 ? await request(base, 'GET', '/health/liveness') : null;
    info.readinessPath =
      readiness.status !== 404 ? '/health/readiness' : liveness?.status !== 404 ? '/health/liveness' : null;
    const forgot = await request(base, 'POST', `${API}/auth/password/forgot`, { email: 'nobody@bench.example.com' });
    info.forgotPasswordPresent = forgot.status !== 404;
    log(
      `seeded ${emails.length + 1} accounts; readiness probe: ${info.readinessPath ?? 'none'}; forgot-password: ${info.forgotPasswordPresent ? 'present' : 'absent (404)'}`,
    );

    const baselines: CostBaselines = { cost };
    this.report.baselines.bcrypt.push(baselines);
    const ceiling = async (): Promise<CostBaselines['ceilingBefore']> => {
      const result = await bcryptCeiling(cost, this.d.ceilingMs);
      log(
        `bcrypt cost ${cost} ceiling (${result.threads} threads): ${fmt(result.hashesPerSec)} hashes/s, ${fmt(result.comparesPerSec)} compares/s`,
      );
      return result;
    };
    if (this.wants('ceiling') || this.wants('login') || this.wants('register')) {
      baselines.ceilingBefore = await ceiling();
      baselines.compareLatency = await bcryptCompareLatency(cost, this.d.compareSamples);
      log(`bcrypt cost ${cost} one compare alone: p50 ${fmt(baselines.compareLatency.p50, 2)} ms`);
    }

    let userIndex = 0;
    const nextEmail = (): string => emails[userIndex++ % emails.length];
    const pairs: TokenPair[] = [];
    const drain = async (): Promise<number> => {
      // bcrypt work is queued FIFO: one more login answers only once the abandoned backlog is done
      // (or, past the admission queue's wait limit, is shed with 503: then try again).
      const deadline = Date.now() + 60_000;
      let sent = 0;
      for (;;) {
        sent += 1;
        const answer = await request(base, 'POST', `${API}/auth/login`, { email: templateEmail, password: PASSWORD });
        if (answer.status !== 503 || Date.now() > deadline) return sent;
        await sleep(250);
      }
    };
    const loginRequests = (): ClientRequests => [
      jsonRequest('POST', `${API}/auth/login`, {
        body: () => ({ email: nextEmail(), password: PASSWORD }),
        onResponse: (status, body) => {
          if (status === 200 && pairs.length < 2000) {
            const parsed = JSON.parse(body) as TokenPair;
            pairs.push({ accessToken: parsed.accessToken, refreshToken: parsed.refreshToken });
          }
        },
      }),
    ];
    const bcryptTimeout = 60;

    if (this.wants('login')) {
      await this.measure(
        server,
        'login',
        cost,
        `POST ${API}/auth/login`,
        { connections: 1, durationSec: this.d.loginC1, timeoutSec: bcryptTimeout, requests: loginRequests },
        { drain },
      );
      for (const connections of this.d.bcryptConcurrency) {
        await this.measure(
          server,
          'login',
          cost,
          `POST ${API}/auth/login`,
          { connections, durationSec: this.d.bcryptLoad, timeoutSec: bcryptTimeout, requests: loginRequests },
          { drain },
        );
      }
    }
    if (this.wants('register')) {
      let registration = 0;
      const tag = `${process.pid}-${cost}`;
      const registerRequests = (): ClientRequests => [
        jsonRequest('POST', `${API}/auth/register`, {
          body: () => ({ email: `reg-${tag}-${registration++}@bench.example.com`, password: PASSWORD }),
        }),
      ];
      for (const connections of this.d.bcryptConcurrency) {
        await this.measure(
          server,
          'register',
          cost,
          `POST ${API}/auth/register`,
          { connections, durationSec: this.d.bcryptLoad, timeoutSec: bcryptTimeout, requests: registerRequests },
          { drain },
        );
      }
    }
    if (baselines.ceilingBefore && (this.wants('login') || this.wants('register')))
      baselines.ceilingAfter = await ceiling();
    if (!all) return;

    if (this.wants('me')) {
      const tokens = [probeToken, ...pairs.map((p) => p.accessToken)].slice(0, 64);
      for (const connections of CONCURRENCY) {
        const bare = await startBareFastify();
        this.children.push(bare.child);
        try {
          const spec: LoadSpec = {
            url: bare.baseUrl,
            connections,
            durationSec: this.d.warmup,
            requests: () => [{ method: 'GET', path: '/me' }],
          };
          await runLoad(spec);
          const result = await runLoad({ ...spec, durationSec: this.d.fast });
          this.report.baselines.fastify.push({ ...result, path: '/me' });
          log(
            `bare Fastify c${connections}: ${fmt(result.rps, 0)} req/s, p50 ${fmt(result.p50, 2)} ms, p99 ${fmt(result.p99, 2)} ms`,
          );
        } finally {
          await bare.child.stop();
        }
        const meRequests = (index: number): ClientRequests => {
          const token = tokens[index % tokens.length];
          return [jsonRequest('GET', `${API}/users/me`, { headers: () => ({ authorization: `Bearer ${token}` }) })];
        };
        await this.measure(
          server,
          'users/me',
          cost,
          `GET ${API}/users/me`,
          { connections, durationSec: this.d.fast, requests: meRequests },
          { warmupSec: this.d.warmup },
        );
      }
    }

    if (this.wants('refresh')) {
      // Each connection follows its own session's rotating token chain.
      while (pairs.length < 64) {
        const batch = await Promise.all(
          Array.from({ length: 4 }, () =>
            request(base, 'POST', `${API}/auth/login`, { email: nextEmail(), password: PASSWORD }),
          ),
        );
        for (const answer of batch) if (answer.status === 200) pairs.push(answer.json as TokenPair);
      }
      const chains = pairs.slice(0, 64).map((p) => ({ token: p.refreshToken, failures: 0 }));
      const refreshRequests = (index: number): ClientRequests => {
        const chain = chains[index];
        return [
          jsonRequest('POST', `${API}/auth/refresh`, {
            body: () => ({ refreshToken: chain.token }),
            onResponse: (status, body) => {
              if (status === 200) chain.token = (JSON.parse(body) as TokenPair).refreshToken;
              else chain.failures += 1;
            },
          }),
        ];
      };
      for (const connections of CONCURRENCY) {
        await this.measure(
          server,
          'refresh',
          cost,
          `POST ${API}/auth/refresh`,
          { connections, durationSec: this.d.fast, requests: refreshRequests },
          { warmupSec: this.d.warmup },
        );
      }
    }

    if (this.wants('forgot')) {
      if (!info.forgotPasswordPresent) {
        this.report.problems.push(
          'forgot-password: POST /api/v1/auth/password/forgot answers 404 (not implemented yet); scenario skipped',
        );
      } else {
        let n = 0;
        // Half known addresses, half unknown: the answer and its timing must not tell them apart.
        const forgotRequests = (): ClientRequests => [
          jsonRequest('POST', `${API}/auth/password/forgot`, {
            body: () => ({ email: n++ % 2 === 0 ? nextEmail() : `unknown-${n}@bench.example.com` }),
          }),
        ];
        for (const connections of CONCURRENCY) {
          await this.measure(
            server,
            'forgot-password',
            cost,
            `POST ${API}/auth/password/forgot`,
            { connections, durationSec: this.d.fast, requests: forgotRequests },
            { warmupSec: this.d.warmup },
          );
        }
      }
    }

    if (this.wants('storm')) await this.storm(server, cost, loginRequests, probeToken, info.readinessPath, drain);

    if (this.wants('db')) {
      for (const connections of CONCURRENCY) {
        const result = await dbRoundTrip(this.database!.url, this.poolMax, connections, this.d.dbMs);
        this.report.baselines.database.push(result);
        log(
          `bare DB round trip c${connections}: ${fmt(result.perSec, 0)}/s, p50 ${fmt(result.p50, 2)} ms, p99 ${fmt(result.p99, 2)} ms`,
        );
      }
    }
  }

  /** Logins saturate the CPU at c64 while a second generator at c1 measures health and /users/me. */
  private async storm(
    server: LatchServer,
    cost: number,
    loginRequests: () => ClientRequests,
    token: string,
    healthPath: string | null,
    drain: () => Promise<number>,
  ): Promise<void> {
    const connections = this.d.stormConnections;
    log(
      `login storm: c${connections} logins for ${this.d.storm} s; probes at c1 from second ${this.d.stormProbeDelay}`,
    );
    const before = await server.snapshot();
    const sampler = this.rssSampler(server.pid);
    await this.profile(server, 'start');
    const logins = runLoad({
      url: server.baseUrl,
      connections,
      durationSec: this.d.storm,
      timeoutSec: 60,
      requests: loginRequests,
    });
    await sleep(this.d.stormProbeDelay * 1000);
    const probeSec = this.d.storm - 2 * this.d.stormProbeDelay;
    const probes: [string, Promise<LoadResult>][] = [];
    if (healthPath) {
      probes.push([
        healthPath,
        runLoad({
          url: server.baseUrl,
          connections: 1,
          durationSec: probeSec,
          requests: () => [{ method: 'GET', path: healthPath }],
        }),
      ]);
    }
    probes.push([
      `${API}/users/me`,
      runLoad({
        url: server.baseUrl,
        connections: 1,
        durationSec: probeSec,
        requests: () => [
          jsonRequest('GET', `${API}/users/me`, { headers: () => ({ authorization: `Bearer ${token}` }) }),
        ],
      }),
    ]);
    const probeResults = await Promise.all(probes.map(([, p]) => p));
    const loginResult = await logins;
    await this.profile(server, `storm-c${connections}-cost${cost}`);
    const drained = await drain();
    await sleep(300);
    const after = await server.snapshot();
    const rssPeakMb = sampler.stop();
    const perRequest = (route: string, sent: number, kind: 'pg' | 'redis'): number | null =>
      sent > 0 ? routeDelta(before, after, route, kind) / sent : null;
    const storm: ScenarioResult = {
      ...loginResult,
      scenario: 'storm login',
      cost,
      path: `${API}/auth/login`,
      dbPerRequest: perRequest(`POST ${API}/auth/login`, loginResult.sent + drained, 'pg'),
      backgroundDbPerSec: null,
      redisPerRequest: perRequest(`POST ${API}/auth/login`, loginResult.sent + drained, 'redis'),
      cpuMsPerRequest: null,
      rssPeakMb,
      eventLoopDelayP99Ms: after.eventLoopDelayP99Ms,
    };
    this.push(storm);
    probes.forEach(([path], i) => {
      this.push({
        ...probeResults[i],
        scenario: 'storm probe',
        cost,
        path,
        dbPerRequest: perRequest(`GET ${path}`, probeResults[i].sent, 'pg'),
        backgroundDbPerSec: null,
        redisPerRequest: perRequest(`GET ${path}`, probeResults[i].sent, 'redis'),
        cpuMsPerRequest: null,
        rssPeakMb,
        eventLoopDelayP99Ms: null,
        note: path.endsWith('liveness') ? 'readiness does not exist yet' : undefined,
      });
    });
    log(
      `storm event-loop delay p99 ${fmt(after.eventLoopDelayP99Ms, 1)} ms, max ${fmt(after.eventLoopDelayMaxMs, 1)} ms (${before.pgQueries} → ${after.pgQueries} DB round trips)`,
    );
  }

  /**
   * Waits until the work the route's requests left behind (after-response listeners, queued
   * processing) is done, that is until its round trips stop growing, so it is counted with the
   * scenario and does not spill into the next one. Bounded; a backlog still going is reported.
   */
  private async quiesce(server: LatchServer, route: string): Promise<ProbeSnapshot> {
    const deadline = Date.now() + this.d.quiesceSec * 1000;
    let previous = await server.snapshot();
    for (;;) {
      await sleep(250);
      const current = await server.snapshot();
      if (routeDelta(previous, current, route, 'pg') === 0 && routeDelta(previous, current, route, 'redis') === 0) {
        return current;
      }
      if (Date.now() > deadline) {
        this.report.problems.push(
          `${route}: its after-response work was still running ${this.d.quiesceSec} s after the run`,
        );
        return current;
      }
      previous = current;
    }
  }

  /** With --profile: a V8 CPU profile of the server's main thread per measured scenario. */
  private async profile(server: LatchServer, name: 'start' | string): Promise<void> {
    if (!this.profileDir) return;
    if (name === 'start') return server.startProfile();
    mkdirSync(this.profileDir, { recursive: true });
    const file = join(this.profileDir, `${name.replace(/[^a-z0-9.-]+/gi, '-')}.cpuprofile`);
    await server.stopProfile(file);
    log(`    profile: ${relative(ROOT, file)} (summary: node .build/bench/profile.js ${relative(ROOT, file)})`);
  }

  private rssSampler(pid: number): { stop(): number } {
    let peak = readRss(pid).rssMb;
    const timer = setInterval(() => (peak = Math.max(peak, readRss(pid).rssMb)), 200);
    return {
      stop: () => {
        clearInterval(timer);
        return Math.max(peak, readRss(pid).rssMb);
      },
    };
  }

  /**
   * One measured run: optional warm-up (not measured), counters before, the run, the drain of
   * abandoned work (bcrypt queue, after-response work), counters after.
   */
  private async measure(
    server: LatchServer,
    scenario: string,
    cost: number,
    route: string,
    load: Omit<LoadSpec, 'url'>,
    options: { warmupSec?: number; drain?: () => Promise<number> },
  ): Promise<ScenarioResult> {
    const spec: LoadSpec = { ...load, url: server.baseUrl };
    const settle = async (): Promise<number> => {
      const extra = options.drain ? await options.drain() : 0;
      await sleep(300);
      return extra;
    };
    if (options.warmupSec) {
      await runLoad({ ...spec, durationSec: options.warmupSec });
      await settle();
      await this.quiesce(server, route);
    }
    const before = await server.snapshot();
    const windowStart = Date.now();
    const sampler = this.rssSampler(server.pid);
    await this.profile(server, 'start');
    const result = await runLoad(spec);
    await this.profile(server, `${scenario}-c${load.connections}-cost${cost}`);
    const extra = await settle();
    const after = await this.quiesce(server, route);
    const rssPeakMb = sampler.stop();
    if (!server.alive) throw new Error(`the server died during ${scenario}:\n${server.output()}`);
    const path = route.slice(route.indexOf(' ') + 1);
    // The drain is a login: it counts with the requests only in the login scenario itself.
    const handled = result.sent + (route === `POST ${API}/auth/login` ? extra : 0);
    const scenarioResult: ScenarioResult = {
      ...result,
      scenario,
      cost,
      path,
      dbPerRequest: handled > 0 ? routeDelta(before, after, route, 'pg') / handled : null,
      backgroundDbPerSec: routeDelta(before, after, '', 'pg') / ((Date.now() - windowStart) / 1000),
      redisPerRequest: handled > 0 ? routeDelta(before, after, route, 'redis') / handled : null,
      cpuMsPerRequest: handled > 0 ? (after.cpuMicros - before.cpuMicros) / 1000 / handled : null,
      rssPeakMb,
      heapUsedMb: after.heapUsedBytes / 2 ** 20,
      heapTotalMb: after.heapTotalBytes / 2 ** 20,
      eventLoopDelayP99Ms: after.eventLoopDelayP99Ms,
      ...(handled > 0
        ? splitRoundTrips(statementDeltas(before.pgStatements, after.pgStatements, handled, route, 16))
        : {}),
    };
    this.push(scenarioResult);
    return scenarioResult;
  }

  private push(result: ScenarioResult): void {
    this.report.scenarios.push(result);
    const statuses = Object.entries(result.statuses)
      .map(([status, count]) => `${status}×${count}`)
      .join(' ');
    log(
      `${result.scenario} ${result.path} cost ${result.cost} c${result.connections}: ${fmt(result.rps)} req/s, p50 ${fmt(result.p50, 2)} ms, p99 ${fmt(result.p99, 2)} ms, ` +
        `errors ${result.errors}, DB ${result.dbPerRequest === null ? '–' : fmt(result.dbPerRequest, 2)}/req, ` +
        `CPU ${result.cpuMsPerRequest === null ? '–' : fmt(result.cpuMsPerRequest, 2)} ms/req, RSS ≤ ${fmt(result.rssPeakMb, 0)} MB` +
        (result.heapTotalMb ? ` (heap ${fmt(result.heapUsedMb ?? NaN, 0)}/${fmt(result.heapTotalMb, 0)} MB)` : '') +
        ` [${statuses}]`,
    );
    for (const s of [...(result.dbStatements?.slice(0, 4) ?? []), ...(result.redisCommands ?? [])]) {
      log(`    ${s.perRequest.toFixed(2)}/req  ${s.statement}`);
    }
    if (result.ok === 0)
      this.report.problems.push(
        `${result.scenario} ${result.path} c${result.connections}: no successful answer (${statuses || 'none'})`,
      );
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

async function main(): Promise<void> {
  // `--render=<results.json>`: print the tables and targets of an earlier run again.
  const render = process.argv.find((a) => a.startsWith('--render='))?.slice('--render='.length);
  if (render) {
    const report = JSON.parse(readFileSync(render, 'utf8')) as RunReport;
    report.targets = evaluateTargets(report);
    log(renderReport(report));
    return;
  }
  const options = parseArgs(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const bench = new Bench(options, stamp);
  const d = durations(options.smoke);
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${d.watchdogMin} min; stopping`);
    void bench.cleanup().finally(() => process.exit(2));
  }, d.watchdogMin * 60_000);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void bench.cleanup().finally(() => process.exit(130)));
  }

  let failed = false;
  try {
    await bench.run();
  } catch (error) {
    failed = true;
    bench.report.problems.push(
      `run aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  } finally {
    await bench.cleanup();
    clearTimeout(watchdog);
  }
  bench.report.finishedAt = new Date().toISOString();
  bench.report.machine.loadAverageEnd = loadavg();
  bench.report.targets = evaluateTargets(bench.report);
  const file = bench.writeResults();
  log(`\n${renderReport(bench.report)}\n\nWritten to ${file}`);
  // Targets are reported, not enforced (a shared machine is noisy); a broken suite fails.
  const broken = failed || bench.report.scenarios.some((s) => s.ok === 0);
  process.exit(broken ? 1 : 0);
}

void main();
