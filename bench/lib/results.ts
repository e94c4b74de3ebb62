// What a run records: the shapes of bench/results/<timestamp>.json, and the round-trip deltas
// between two probe snapshots that the scenarios and targets are computed from.
import type { BcryptCeiling, DbRoundTrip, LatencyStats } from './baselines';
import type { LoadResult } from './load';
import type { ProbeSnapshot } from './probe';

export interface ScenarioResult extends LoadResult {
  scenario: string;
  cost: number;
  path: string;
  /**
   * PostgreSQL round trips caused by requests of this route (in their async context, so including
   * after-response work they started) per request sent.
   */
  dbPerRequest: number | null;
  /** Round trips per second of work not started by a request (timers: outbox polling, cron). */
  backgroundDbPerSec: number | null;
  redisPerRequest: number | null;
  /** Server process CPU (all threads) per request sent. */
  cpuMsPerRequest: number | null;
  /** Server garbage-collection pauses per request sent, and the major collections during the run. */
  gcMsPerRequest?: number | null;
  majorGcs?: number;
  /** V8 heap allocated per request sent (the probe's GC-profiler count), KB. */
  allocatedKbPerRequest?: number | null;
  rssPeakMb: number;
  /** V8 heap (used / reserved) at the end of the scenario, to tell heap growth from other memory. */
  heapUsedMb?: number;
  heapTotalMb?: number;
  eventLoopDelayP99Ms: number | null;
  /** The statements behind dbPerRequest, most frequent first. */
  dbStatements?: StatementCount[];
  /** The Redis commands behind redisPerRequest. */
  redisCommands?: StatementCount[];
  note?: string;
}

export interface StatementCount {
  statement: string;
  perRequest: number;
}

/** Per-request round trips by statement caused by one route ("" = background) between two snapshots. */
export function statementDeltas(
  before: Record<string, number>,
  after: Record<string, number>,
  requests: number,
  route: string,
  limit = 8,
): StatementCount[] {
  const prefix = `${route}\t`;
  return Object.entries(after)
    .filter(([key]) => key.startsWith(prefix))
    .map(([key, count]) => ({
      statement: key.slice(prefix.length),
      perRequest: (count - (before[key] ?? 0)) / requests,
    }))
    .filter((s) => s.perRequest > 0)
    .sort((a, b) => b.perRequest - a.perRequest)
    .slice(0, limit);
}

/** SQL statements and Redis commands ("redis X") apart. */
export function splitRoundTrips(all: StatementCount[]): {
  dbStatements: StatementCount[];
  redisCommands: StatementCount[];
} {
  return {
    dbStatements: all.filter((s) => !s.statement.startsWith('redis ')).slice(0, 8),
    redisCommands: all.filter((s) => s.statement.startsWith('redis ')).slice(0, 8),
  };
}

/** Heap allocated per request in the probe's sampled windows between two snapshots (probe.ts). */
export function allocatedKbPerRequest(before: ProbeSnapshot, after: ProbeSnapshot): number | null {
  const requests = after.allocationRequests - before.allocationRequests;
  return requests > 0 ? (after.allocatedBytes - before.allocatedBytes) / 1024 / requests : null;
}

/** Round trips caused by one route between two snapshots. */
export function routeDelta(before: ProbeSnapshot, after: ProbeSnapshot, route: string, kind: 'pg' | 'redis'): number {
  return (after.routes[route]?.[kind] ?? 0) - (before.routes[route]?.[kind] ?? 0);
}

export interface CostBaselines {
  cost: number;
  ceilingBefore?: BcryptCeiling;
  ceilingAfter?: BcryptCeiling;
  compareLatency?: LatencyStats;
}

export interface PhaseInfo {
  cost: number;
  rssIdleMb: number;
  rssPeakMb: number;
  /** After the scenarios and a short pause, before any forced GC: what a load run leaves resident. */
  rssIdleAfterLoadMb?: number;
  /** After the scenarios and a forced full GC: what stays resident, and the live V8 heap. */
  rssAfterGcMb?: number;
  heapLiveAfterGcMb?: number;
  backgroundDbQueriesPerSec: number;
  backgroundStatements: StatementCount[];
  /** Runs before the endpoints were all present recorded which ones were missing. */
  readinessPath?: string | null;
  forgotPasswordPresent?: boolean;
}

/** An HTTP baseline: another server answering the same JSON as GET /users/me. */
export type HttpBaseline = LoadResult & { path: string };

export interface Target {
  id: string;
  /** The issue(s) that set it, e.g. "8, 18". */
  issue?: string;
  description: string;
  measured: number | null;
  limit: number;
  /** 'min': measured must be ≥ limit; 'max': ≤ limit. */
  kind: 'min' | 'max';
  unit: string;
  met: boolean | null;
  note?: string;
}

export interface RunReport {
  startedAt: string;
  finishedAt?: string;
  command: string;
  mode: 'full' | 'smoke';
  commit: string;
  machine: {
    cores: number;
    cpu: string;
    memoryGb: number;
    node: string;
    /** 1/5/15-minute load averages at the start and the end: how busy the machine was otherwise. */
    loadAverage: number[];
    loadAverageEnd?: number[];
  };
  setup: Record<string, string | number | boolean>;
  phases: PhaseInfo[];
  baselines: {
    bcrypt: CostBaselines[];
    fastify: HttpBaseline[];
    /** A minimal NestJS app on @nestjs/platform-fastify: the framework's floor (absent in older runs). */
    nest?: HttpBaseline[];
    database: DbRoundTrip[];
  };
  scenarios: ScenarioResult[];
  /** In-process micro-benchmarks (token signing and verification), absent in older runs. */
  micro?: MicroResult[];
  targets: Target[];
  problems: string[];
}

/** One in-process figure, e.g. CPU per token signed with ES256. */
export interface MicroResult {
  name: string;
  alg: string;
  value: number;
  unit: string;
}

/** A scenario's result by name and concurrency (and cost). */
export function findResult(
  report: RunReport,
  scenario: string,
  connections: number,
  cost?: number,
): ScenarioResult | undefined {
  return report.scenarios.find(
    (s) => s.scenario === scenario && s.connections === connections && (cost === undefined || s.cost === cost),
  );
}

/**
 * The bcrypt ceiling: the better of the measurements before and after the bcrypt scenarios. Other
 * processes on the machine can only lower a measurement, so the best one is the closest to what the
 * cores can do (and the strictest yardstick for the service).
 */
export function ceiling(baselines: CostBaselines | undefined, kind: 'hashesPerSec' | 'comparesPerSec'): number | null {
  const values = [baselines?.ceilingBefore?.[kind], baselines?.ceilingAfter?.[kind]].filter(
    (v): v is number => typeof v === 'number' && Number.isFinite(v),
  );
  return values.length === 0 ? null : Math.max(...values);
}

/** CPU per bcrypt operation: the lower of the two measurements. */
export function ceilingCpu(baselines: CostBaselines, kind: 'cpuMsPerHash' | 'cpuMsPerCompare'): number | null {
  const values = [baselines.ceilingBefore?.[kind], baselines.ceilingAfter?.[kind]].filter(
    (v): v is number => typeof v === 'number' && Number.isFinite(v),
  );
  return values.length === 0 ? null : Math.min(...values);
}

export function fmt(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}
