// Results of a run: the scenario and baseline tables, the targets of issue 8 as ratios against the
// baselines of the same run, and the JSON written to bench/results/.
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
  /** After the scenarios and a forced full GC: what stays resident, and the live V8 heap. */
  rssAfterGcMb?: number;
  heapLiveAfterGcMb?: number;
  backgroundDbQueriesPerSec: number;
  backgroundStatements: StatementCount[];
  readinessPath: string | null;
  forgotPasswordPresent: boolean;
}

export interface Target {
  id: string;
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
    fastify: (LoadResult & { path: string })[];
    database: DbRoundTrip[];
  };
  scenarios: ScenarioResult[];
  targets: Target[];
  problems: string[];
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

function ceilingCpu(baselines: CostBaselines, kind: 'cpuMsPerHash' | 'cpuMsPerCompare'): number | null {
  const values = [baselines.ceilingBefore?.[kind], baselines.ceilingAfter?.[kind]].filter(
    (v): v is number => typeof v === 'number' && Number.isFinite(v),
  );
  return values.length === 0 ? null : Math.min(...values);
}

function find(report: RunReport, scenario: string, connections: number, cost?: number): ScenarioResult | undefined {
  return report.scenarios.find(
    (s) => s.scenario === scenario && s.connections === connections && (cost === undefined || s.cost === cost),
  );
}

function target(
  id: string,
  description: string,
  measured: number | null | undefined,
  kind: 'min' | 'max',
  limit: number,
  unit: string,
  note?: string,
): Target {
  const value = measured === undefined || measured === null || !Number.isFinite(measured) ? null : measured;
  const met = value === null ? null : kind === 'min' ? value >= limit : value <= limit;
  return { id, description, measured: value, limit, kind, unit, met, note };
}

/** The targets of issue 8 for a 2-core machine, each computed from this run's own baselines. */
export function evaluateTargets(report: RunReport): Target[] {
  const targets: Target[] = [];
  for (const phase of report.phases) {
    const cost = phase.cost;
    const base = report.baselines.bcrypt.find((b) => b.cost === cost);
    const compares = ceiling(base, 'comparesPerSec');
    const hashes = ceiling(base, 'hashesPerSec');
    const login16 = find(report, 'login', 16, cost);
    const login1 = find(report, 'login', 1, cost);
    const register16 = find(report, 'register', 16, cost);
    if (login16 && compares) {
      targets.push(
        target(
          `login-ceiling-c${cost}`,
          `login c16 req/s ÷ bcrypt compare ceiling (cost ${cost})`,
          login16.rps / compares,
          'min',
          0.9,
          'ratio',
        ),
      );
      targets.push(
        target(
          `login-tail-c${cost}`,
          `login c16 p99 ÷ p50 (cost ${cost})`,
          login16.p99 / login16.p50,
          'max',
          3,
          'ratio',
        ),
      );
    }
    if (login1 && base?.compareLatency) {
      targets.push(
        target(
          `login-c1-c${cost}`,
          `login c1 p50 − one bcrypt compare p50 (cost ${cost})`,
          login1.p50 - base.compareLatency.p50,
          'max',
          5,
          'ms',
        ),
      );
    }
    if (register16 && hashes) {
      targets.push(
        target(
          `register-ceiling-c${cost}`,
          `register c16 req/s ÷ bcrypt hash ceiling (cost ${cost})`,
          register16.rps / hashes,
          'min',
          0.85,
          'ratio',
        ),
      );
    }
  }
  const readiness = report.scenarios.find((s) => s.scenario === 'storm probe' && s.path.includes('/health/'));
  const meProbe = report.scenarios.find((s) => s.scenario === 'storm probe' && s.path.includes('/users/me'));
  const readinessPath = report.phases[0]?.readinessPath;
  targets.push(
    target(
      'storm-readiness-p99',
      `during the login storm: ${readinessPath ?? '/health/readiness'} p99`,
      readiness?.p99,
      'max',
      20,
      'ms',
      readinessPath === null
        ? 'no health endpoint yet'
        : readinessPath?.endsWith('readiness')
          ? undefined
          : `measured ${readinessPath}: /health/readiness does not exist yet`,
    ),
  );
  targets.push(target('storm-me-p99', 'during the login storm: /users/me p99', meProbe?.p99, 'max', 20, 'ms'));
  for (const connections of [16, 64]) {
    const me = find(report, 'users/me', connections);
    const bare = report.baselines.fastify.find((f) => f.connections === connections);
    if (me && bare) {
      targets.push(
        target(
          `me-vs-fastify-c${connections}`,
          `/users/me c${connections} req/s ÷ bare Fastify`,
          me.rps / bare.rps,
          'min',
          0.4,
          'ratio',
        ),
      );
    }
  }
  const me16 = find(report, 'users/me', 16);
  if (me16)
    targets.push(
      target(
        'me-db',
        '/users/me c16 DB round trips per request (warm cache)',
        me16.dbPerRequest,
        'max',
        0.01,
        'per req',
      ),
    );
  const refresh16 = find(report, 'refresh', 16);
  if (refresh16) {
    targets.push(
      target('refresh-db', 'refresh c16 DB round trips per refresh', refresh16.dbPerRequest, 'max', 2, 'per req'),
    );
    targets.push(target('refresh-rps', 'refresh c16 req/s', refresh16.rps, 'min', 1500, 'req/s'));
  }
  const forgot16 = find(report, 'forgot-password', 16);
  const forgotPresent = report.phases[0]?.forgotPasswordPresent;
  targets.push(
    target(
      'forgot-p99',
      'forgot-password c16 p99 (slow SMTP server)',
      forgot16?.p99,
      'max',
      20,
      'ms',
      forgotPresent === false ? 'endpoint not present yet' : undefined,
    ),
  );
  const idle = Math.max(...report.phases.map((p) => p.rssIdleMb));
  const peak = Math.max(...report.phases.map((p) => p.rssPeakMb), ...report.scenarios.map((s) => s.rssPeakMb));
  if (report.phases.length > 0) {
    targets.push(target('rss-idle', 'server RSS idle after start', idle, 'max', 120, 'MB'));
    targets.push(target('rss-peak', 'server RSS peak under any scenario (VmHWM)', peak, 'max', 250, 'MB'));
  }
  return targets;
}

function fmt(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [
    line(header),
    `| ${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w - 1)}` : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
    ...rows.map(line),
  ].join('\n');
}

/** Markdown tables (they read as plain text on a terminal and paste into the README as they are). */
export function renderReport(report: RunReport): string {
  const out: string[] = [];
  out.push(
    `Latch benchmark (${report.mode}) · ${report.startedAt} · commit ${report.commit} · ${report.machine.cores} cores ${report.machine.cpu} · Node ${report.machine.node}` +
      ` · load average ${report.machine.loadAverage.map((l) => l.toFixed(1)).join('/')} at start, ${report.machine.loadAverageEnd?.map((l) => l.toFixed(1)).join('/') ?? '?'} at end`,
  );
  out.push(
    '',
    `Setup: ${Object.entries(report.setup)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  );
  out.push('');
  out.push('Baselines (same run):', '');
  out.push(
    table(
      ['baseline', 'result'],
      [
        ...report.baselines.bcrypt.flatMap((b) => [
          [
            `bcrypt cost ${b.cost} ceiling, ${b.ceilingBefore?.threads ?? '?'} threads: hashes/s (before / after; the better one counts)`,
            `${fmt(b.ceilingBefore?.hashesPerSec)} / ${fmt(b.ceilingAfter?.hashesPerSec)}`,
          ],
          [
            `bcrypt cost ${b.cost} ceiling: compares/s (before / after)`,
            `${fmt(b.ceilingBefore?.comparesPerSec)} / ${fmt(b.ceilingAfter?.comparesPerSec)}`,
          ],
          [
            `bcrypt cost ${b.cost}: one compare alone, p50 / p99 ms`,
            `${fmt(b.compareLatency?.p50)} / ${fmt(b.compareLatency?.p99)}`,
          ],
        ]),
        ...report.baselines.fastify.map((f) => [
          `bare Fastify GET ${f.path} c${f.connections}: req/s, p50 / p99 ms`,
          `${fmt(f.rps, 0)}, ${fmt(f.p50, 2)} / ${fmt(f.p99, 2)}`,
        ]),
        ...report.baselines.database.map((d) => [
          `bare DB round trip (SELECT 1, pool ${d.poolMax}) c${d.concurrency}: per s, p50 / p99 ms`,
          `${fmt(d.perSec, 0)}, ${fmt(d.p50, 2)} / ${fmt(d.p99, 2)}`,
        ]),
      ],
    ),
  );
  out.push('');
  out.push(
    'Scenarios (req/s counts 2xx answers; errors = non-2xx + socket errors + timeouts; per-request costs divide by requests sent):',
    '',
  );
  out.push(
    table(
      [
        'scenario',
        'cost',
        'conc',
        'req/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'DB rt/req',
        'bg DB rt/s',
        'Redis/req',
        'CPU ms/req',
        'RSS peak MB',
      ],
      report.scenarios.map((s) => [
        `${s.scenario} ${s.path}${s.note ? ` (${s.note})` : ''}`,
        String(s.cost),
        String(s.connections),
        fmt(s.rps, s.rps < 100 ? 1 : 0),
        fmt(s.p50, s.p50 < 100 ? 2 : 0),
        fmt(s.p99, s.p99 < 100 ? 2 : 0),
        String(s.errors),
        fmt(s.dbPerRequest, 2),
        fmt(s.backgroundDbPerSec, 1),
        fmt(s.redisPerRequest, 2),
        fmt(s.cpuMsPerRequest, 2),
        fmt(s.rssPeakMb, 0),
      ]),
    ),
  );
  out.push('');
  out.push(
    ...report.phases.map(
      (p) =>
        `- Memory and background, cost ${p.cost}: RSS ${fmt(p.rssIdleMb, 0)} MB idle after start, peak ${fmt(p.rssPeakMb, 0)} MB, ` +
        `${fmt(p.rssAfterGcMb, 0)} MB after the run and a full GC (live heap ${fmt(p.heapLiveAfterGcMb, 0)} MB); ` +
        `${fmt(p.backgroundDbQueriesPerSec, 1)} background DB round trips/s idle`,
    ),
  );
  // CPU time barely moves when other processes compete for the cores, unlike throughput: it shows
  // how much of a login's CPU is bcrypt itself, which is what the throughput ratio comes down to.
  for (const base of report.baselines.bcrypt) {
    const cpuCompare = ceilingCpu(base, 'cpuMsPerCompare');
    const cpuHash = ceilingCpu(base, 'cpuMsPerHash');
    const login = find(report, 'login', 16, base.cost);
    const register = find(report, 'register', 16, base.cost);
    if (cpuCompare && login?.cpuMsPerRequest) {
      out.push(
        `- CPU view, cost ${base.cost}: one compare ${fmt(cpuCompare, 1)} ms CPU, a c16 login ${fmt(login.cpuMsPerRequest, 1)} ms in the server ` +
          `(bcrypt = ${fmt((100 * cpuCompare) / login.cpuMsPerRequest, 0)}% of it)` +
          (cpuHash && register?.cpuMsPerRequest
            ? `; one hash ${fmt(cpuHash, 1)} ms, a c16 register ${fmt(register.cpuMsPerRequest, 1)} ms (${fmt((100 * cpuHash) / register.cpuMsPerRequest, 0)}%)`
            : ''),
      );
    }
  }
  out.push('');
  out.push('Targets (issue 8, 2-core machine):', '');
  out.push(
    table(
      ['target', 'measured', 'limit', 'status'],
      report.targets.map((t) => [
        t.description + (t.note ? ` (${t.note})` : ''),
        t.unit === 'ratio' ? fmt(t.measured, 2) : `${fmt(t.measured, t.unit === 'req/s' ? 0 : 2)} ${t.unit}`,
        `${t.kind === 'min' ? '≥' : '≤'} ${t.limit}${t.unit === 'ratio' ? '' : ` ${t.unit}`}`,
        t.met === null ? 'n/a' : t.met ? 'met' : 'MISSED',
      ]),
    ),
  );
  if (report.problems.length > 0) {
    out.push('');
    out.push('Problems:');
    for (const problem of report.problems) out.push(`- ${problem}`);
  }
  return out.join('\n');
}
