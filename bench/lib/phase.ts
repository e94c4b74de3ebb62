// What a scenario works with: one running server at one bcrypt cost, its seed, and the measuring
// steps every scenario shares (warm-up, counters before and after, drain, quiesce, RSS, profile).
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { API, log } from './http';
import { LoadResult, LoadSpec, runLoad } from './load';
import type { Durations } from './options';
import type { ProbeSnapshot } from './probe';
import { Child, LatchServer, readRss, ROOT, startBareFastify, startMinimalNest } from './processes';
import {
  allocatedKbPerRequest,
  CostBaselines,
  fmt,
  PhaseInfo,
  routeDelta,
  RunReport,
  ScenarioResult,
  splitRoundTrips,
  statementDeltas,
} from './results';
import type { Seed } from './seed';

export interface MeasureOptions {
  warmupSec?: number;
  /** Run after the load and counted with it when the route is the login (the bcrypt backlog). */
  drain?: () => Promise<number>;
}

export interface PhaseSetup {
  server: LatchServer;
  cost: number;
  d: Durations;
  /** The run's report: results, baselines and problems are added to it. */
  report: RunReport;
  info: PhaseInfo;
  /** The bcrypt baselines of this cost. */
  bcrypt: CostBaselines;
  seed: Seed;
  databaseUrl: string;
  poolMax: number;
  /** Child processes the runner kills if the run is cut short. */
  children: Child[];
  /** With --profile: where the CPU profiles go. */
  profileDir?: string;
  /** Starts another server on the phase's database with some settings changed (the runner stops it). */
  startServer?: (env: Record<string, string>) => Promise<LatchServer>;
}

export class Phase {
  readonly server: LatchServer;
  readonly cost: number;
  readonly d: Durations;
  readonly report: RunReport;
  readonly info: PhaseInfo;
  readonly bcrypt: CostBaselines;
  readonly seed: Seed;
  readonly databaseUrl: string;
  readonly poolMax: number;
  private readonly children: Child[];
  private readonly profileDir?: string;
  private readonly setup: PhaseSetup;

  constructor(setup: PhaseSetup) {
    this.setup = setup;
    ({
      server: this.server,
      cost: this.cost,
      d: this.d,
      report: this.report,
      info: this.info,
      bcrypt: this.bcrypt,
      seed: this.seed,
      databaseUrl: this.databaseUrl,
      poolMax: this.poolMax,
      children: this.children,
      profileDir: this.profileDir,
    } = setup);
  }

  get baseUrl(): string {
    return this.server.baseUrl;
  }

  /**
   * Another server on the same database and seed with `env` changed (say JWT_ALGORITHM), and a
   * phase that measures it; stop the server when done (the runner kills it if the run is cut short).
   */
  async withServer(env: Record<string, string>): Promise<Phase> {
    if (!this.setup.startServer) throw new Error('this phase cannot start another server');
    const server = await this.setup.startServer(env);
    return new Phase({ ...this.setup, server });
  }

  /**
   * One measured run: optional warm-up (not measured), counters before, the run, the drain of
   * abandoned work (bcrypt queue, after-response work), counters after. `route` is "METHOD /path".
   */
  async measure(
    scenario: string,
    route: string,
    load: Omit<LoadSpec, 'url'>,
    options: MeasureOptions = {},
  ): Promise<ScenarioResult> {
    const spec: LoadSpec = { ...load, url: this.baseUrl };
    const settle = async (): Promise<number> => {
      const extra = options.drain ? await options.drain() : 0;
      await sleep(300);
      return extra;
    };
    if (options.warmupSec) {
      await runLoad({ ...spec, durationSec: options.warmupSec });
      await settle();
      await this.quiesce(route);
    }
    const before = await this.server.snapshot(true);
    const windowStart = Date.now();
    const sampler = this.rssSampler();
    await this.profile('start');
    const result = await runLoad(spec);
    await this.profile(`${scenario}-c${load.connections}-cost${this.cost}`);
    const extra = await settle();
    const after = await this.quiesce(route);
    const rssPeakMb = sampler.stop();
    if (!this.server.alive) throw new Error(`the server died during ${scenario}:\n${this.server.output()}`);
    const path = route.slice(route.indexOf(' ') + 1);
    // The drain is a login: it counts with the requests only in the login scenario itself.
    const handled = result.sent + (route === `POST ${API}/auth/login` ? extra : 0);
    return this.push({
      ...result,
      scenario,
      cost: this.cost,
      path,
      dbPerRequest: handled > 0 ? routeDelta(before, after, route, 'pg') / handled : null,
      backgroundDbPerSec: routeDelta(before, after, '', 'pg') / ((Date.now() - windowStart) / 1000),
      redisPerRequest: handled > 0 ? routeDelta(before, after, route, 'redis') / handled : null,
      cpuMsPerRequest: handled > 0 ? (after.cpuMicros - before.cpuMicros) / 1000 / handled : null,
      gcMsPerRequest: handled > 0 ? (after.gcMs - before.gcMs) / handled : null,
      allocatedKbPerRequest: allocatedKbPerRequest(before, after),
      majorGcs: after.majorGcs - before.majorGcs,
      rssPeakMb,
      heapUsedMb: after.heapUsedBytes / 2 ** 20,
      heapTotalMb: after.heapTotalBytes / 2 ** 20,
      eventLoopDelayP99Ms: after.eventLoopDelayP99Ms,
      ...(handled > 0
        ? splitRoundTrips(statementDeltas(before.pgStatements, after.pgStatements, handled, route, 16))
        : {}),
    });
  }

  /**
   * An HTTP baseline (another server answering GET /me with the same JSON) at a concurrency,
   * measured once per run and kept in the report.
   */
  async httpBaseline(kind: 'fastify' | 'nest', connections: number): Promise<LoadResult> {
    const list = kind === 'fastify' ? this.report.baselines.fastify : (this.report.baselines.nest ??= []);
    const known = list.find((b) => b.connections === connections);
    if (known) return known;
    const started = kind === 'fastify' ? await startBareFastify() : await startMinimalNest();
    this.children.push(started.child);
    try {
      const spec: LoadSpec = {
        url: started.baseUrl,
        connections,
        durationSec: this.d.warmup,
        requests: () => [{ method: 'GET', path: '/me' }],
      };
      await runLoad(spec);
      const result = await runLoad({ ...spec, durationSec: this.d.fast });
      list.push({ ...result, path: '/me' });
      const name = kind === 'fastify' ? 'bare Fastify' : 'minimal NestJS';
      log(
        `${name} c${connections}: ${fmt(result.rps, 0)} req/s, p50 ${fmt(result.p50, 2)} ms, p99 ${fmt(result.p99, 2)} ms`,
      );
      return result;
    } finally {
      await started.child.stop();
    }
  }

  /**
   * Waits until the work the route's requests left behind (after-response listeners, queued
   * processing) is done, that is until its round trips stop growing, so it is counted with the
   * scenario and does not spill into the next one. Bounded; a backlog still going is reported.
   */
  async quiesce(route: string): Promise<ProbeSnapshot> {
    const deadline = Date.now() + this.d.quiesceSec * 1000;
    let previous = await this.server.snapshot();
    for (;;) {
      await sleep(250);
      const current = await this.server.snapshot();
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
  async profile(name: 'start' | string): Promise<void> {
    if (!this.profileDir) return;
    if (name === 'start') return this.server.startProfile();
    mkdirSync(this.profileDir, { recursive: true });
    const file = join(this.profileDir, `${name.replace(/[^a-z0-9.-]+/gi, '-')}.cpuprofile`);
    await this.server.stopProfile(file);
    log(`    profile: ${relative(ROOT, file)} (summary: node .build/bench/profile.js ${relative(ROOT, file)})`);
  }

  /** Samples the server's RSS every 200 ms until stopped; answers the peak. */
  rssSampler(): { stop(): number } {
    const pid = this.server.pid;
    let peak = readRss(pid).rssMb;
    const timer = setInterval(() => (peak = Math.max(peak, readRss(pid).rssMb)), 200);
    return {
      stop: () => {
        clearInterval(timer);
        return Math.max(peak, readRss(pid).rssMb);
      },
    };
  }

  /** Records a result, logs its line, and flags a scenario that had no successful answer. */
  push(result: ScenarioResult): ScenarioResult {
    this.report.scenarios.push(result);
    const statuses = Object.entries(result.statuses)
      .map(([status, count]) => `${status}×${count}`)
      .join(' ');
    log(
      `${result.scenario} ${result.path} cost ${result.cost} c${result.connections}: ${fmt(result.rps)} req/s, p50 ${fmt(result.p50, 2)} ms, p99 ${fmt(result.p99, 2)} ms, max ${fmt(result.max, 1)} ms, ` +
        `errors ${result.errors}, DB ${fmt(result.dbPerRequest, 2)}/req, ` +
        `CPU ${fmt(result.cpuMsPerRequest, 2)} ms/req (GC ${fmt(result.gcMsPerRequest, 3)} ms, ${result.majorGcs ?? '–'} major), ` +
        `heap allocated ${fmt(result.allocatedKbPerRequest, 1)} KB/req, RSS ≤ ${fmt(result.rssPeakMb, 0)} MB` +
        (result.heapTotalMb ? ` (heap ${fmt(result.heapUsedMb, 0)}/${fmt(result.heapTotalMb, 0)} MB)` : '') +
        ` [${statuses}]`,
    );
    for (const s of [...(result.dbStatements?.slice(0, 4) ?? []), ...(result.redisCommands ?? [])]) {
      log(`    ${s.perRequest.toFixed(2)}/req  ${s.statement}`);
    }
    if (result.ok === 0)
      this.report.problems.push(
        `${result.scenario} ${result.path} c${result.connections}: no successful answer (${statuses || 'none'})`,
      );
    return result;
  }
}
