// The printed report: Markdown tables (they read as plain text on a terminal and paste into the
// README as they are) of the baselines, the scenarios, the framework ratios and the targets.
import { ceilingCpu, findResult, fmt, RunReport } from './results';
import { signingLines } from './keys-report';

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

function header(report: RunReport): string[] {
  const loads = (l: number[] | undefined): string => l?.map((v) => v.toFixed(1)).join('/') ?? '?';
  const m = report.machine;
  return [
    `Latch benchmark (${report.mode}) · ${report.startedAt} · commit ${report.commit} · ${m.cores} cores ${m.cpu} · Node ${m.node}` +
      ` · load average ${loads(m.loadAverage)} at start, ${loads(m.loadAverageEnd)} at end`,
    '',
    `Setup: ${Object.entries(report.setup)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  ];
}

function baselines(report: RunReport): string {
  const http = (name: string, list: RunReport['baselines']['fastify'] | undefined): string[][] =>
    (list ?? []).map((f) => [
      `${name} GET ${f.path} c${f.connections}: req/s, p50 / p99 ms`,
      `${fmt(f.rps, 0)}, ${fmt(f.p50, 2)} / ${fmt(f.p99, 2)}`,
    ]);
  return table(
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
      ...http('bare Fastify', report.baselines.fastify),
      ...http('minimal NestJS (platform-fastify)', report.baselines.nest),
      ...report.baselines.database.map((d) => [
        `bare DB round trip (SELECT 1, pool ${d.poolMax}) c${d.concurrency}: per s, p50 / p99 ms`,
        `${fmt(d.perSec, 0)}, ${fmt(d.p50, 2)} / ${fmt(d.p99, 2)}`,
      ]),
    ],
  );
}

function scenarios(report: RunReport): string {
  return table(
    [
      'scenario',
      'cost',
      'conc',
      'req/s',
      'p50 ms',
      'p99 ms',
      'max ms',
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
      fmt(s.max, s.max < 100 ? 2 : 0),
      String(s.errors),
      fmt(s.dbPerRequest, 2),
      fmt(s.backgroundDbPerSec, 1),
      fmt(s.redisPerRequest, 2),
      fmt(s.cpuMsPerRequest, 2),
      fmt(s.rssPeakMb, 0),
    ]),
  );
}

/** What the framework and Latch's request path cost: req/s ratios at each concurrency. */
function frameworkRatios(report: RunReport): string[] {
  const rows: string[] = [];
  const ratio = (a: { rps: number } | undefined, b: { rps: number } | undefined): string =>
    a && b && b.rps > 0 ? fmt(a.rps / b.rps, 2) : '–';
  for (const connections of [16, 64]) {
    const bare = report.baselines.fastify.find((f) => f.connections === connections);
    const nest = report.baselines.nest?.find((n) => n.connections === connections);
    const me = findResult(report, 'users/me', connections);
    const verify = findResult(report, 'auth/verify', connections);
    if (!bare && !nest) continue;
    rows.push(
      `- c${connections}: /users/me ÷ bare Fastify ${ratio(me, bare)}, /users/me ÷ minimal NestJS ${ratio(me, nest)}, ` +
        `minimal NestJS ÷ bare Fastify ${ratio(nest, bare)}, /auth/verify ÷ bare Fastify ${ratio(verify, bare)}`,
    );
  }
  return rows.length > 0 ? ['', 'Framework floor (req/s ratios, same run):', ...rows] : [];
}

function notes(report: RunReport): string[] {
  const out = report.phases.map(
    (p) =>
      `- Memory and background, cost ${p.cost}: RSS ${fmt(p.rssIdleMb, 0)} MB idle after start, peak ${fmt(p.rssPeakMb, 0)} MB, ` +
      `${fmt(p.rssIdleAfterLoadMb, 0)} MB idle after the run, ${fmt(p.rssAfterGcMb, 0)} MB after a full GC (live heap ${fmt(p.heapLiveAfterGcMb, 0)} MB); ` +
      `${fmt(p.backgroundDbQueriesPerSec, 1)} background DB round trips/s idle`,
  );
  // CPU time barely moves when other processes compete for the cores, unlike throughput: it shows
  // how much of a login's CPU is bcrypt itself, which is what the throughput ratio comes down to.
  for (const base of report.baselines.bcrypt) {
    const cpuCompare = ceilingCpu(base, 'cpuMsPerCompare');
    const cpuHash = ceilingCpu(base, 'cpuMsPerHash');
    const login = findResult(report, 'login', 16, base.cost);
    const register = findResult(report, 'register', 16, base.cost);
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
  return out;
}

function targets(report: RunReport): string {
  return table(
    ['target', 'issue', 'measured', 'limit', 'status'],
    report.targets.map((t) => [
      t.description + (t.note ? ` (${t.note})` : ''),
      t.issue ?? '',
      t.unit === 'ratio' ? fmt(t.measured, 2) : `${fmt(t.measured, t.unit === 'req/s' ? 0 : 2)} ${t.unit}`,
      `${t.kind === 'min' ? '≥' : '≤'} ${t.limit}${t.unit === 'ratio' ? '' : ` ${t.unit}`}`,
      t.met === null ? 'n/a' : t.met ? 'met' : 'MISSED',
    ]),
  );
}

export function renderReport(report: RunReport): string {
  const out: string[] = [...header(report), '', 'Baselines (same run):', '', baselines(report), ''];
  out.push(
    'Scenarios (req/s counts 2xx answers; errors = non-2xx + socket errors + timeouts; per-request costs divide by requests sent):',
    '',
    scenarios(report),
  );
  out.push(...frameworkRatios(report), ...signingLines(report), '', ...notes(report), '');
  out.push('Targets (issues 8, 13, 14 and 18, 2-core machine; reported, not enforced):', '', targets(report));
  if (report.problems.length > 0) {
    out.push('', 'Problems:');
    for (const problem of report.problems) out.push(`- ${problem}`);
  }
  return out.join('\n');
}
