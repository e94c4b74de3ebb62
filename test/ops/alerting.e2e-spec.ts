// The alert rules (deploy/prometheus/latch.rules.yml) and the Grafana dashboard
// (deploy/grafana/latch-dashboard.json) checked for real: promtool validates the rules and runs
// their unit tests, every metric either names is exported by a running Latch, and a real
// Prometheus server scraping a running Latch every second evaluates the dashboard's queries and
// sees an alert go pending. Without promtool or prometheus (Debian package `prometheus`) those
// parts are skipped, saying so.
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { eventually } from '../utils/eventually';

const ROOT = join(__dirname, '..', '..', '..'); // .build/test/ops → the repository
const RULES = join(ROOT, 'deploy', 'prometheus', 'latch.rules.yml');
const RULE_TESTS = join(ROOT, 'deploy', 'prometheus', 'latch.rules.test.yml');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'latch-dashboard.json');
const NEVER = '0 0 1 1 *';

/** The path of an executable on PATH, or undefined. */
function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
const PROMTOOL = which('promtool');
const PROMETHEUS = which('prometheus');
const NO_PROMTOOL = PROMTOOL ? false : 'promtool is not installed (Debian package `prometheus`)';
const NO_PROMETHEUS = PROMETHEUS ? false : 'prometheus is not installed (Debian package `prometheus`)';

/** Each rule's `expr:`, inline or as a `|` block, from the rules file. */
function ruleExpressions(yaml: string): { alert: string; expr: string }[] {
  const lines = yaml.split('\n');
  const rules: { alert: string; expr: string }[] = [];
  let alert = '';
  for (let i = 0; i < lines.length; i++) {
    const named = /^\s*- alert:\s*(\S+)/.exec(lines[i]!);
    if (named) alert = named[1]!;
    const expr = /^(\s*)expr:\s*(.*)$/.exec(lines[i]!);
    if (!expr) continue;
    if (!expr[2]!.startsWith('|')) {
      rules.push({ alert, expr: expr[2]! });
      continue;
    }
    const indent = expr[1]!.length;
    const block: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1]!.trim() === '' || /^\s*/.exec(lines[i + 1]!)![0].length > indent)) {
      block.push(lines[++i]!);
    }
    rules.push({ alert, expr: block.join('\n') });
  }
  return rules;
}

/** Every query of the dashboard (panels, rows' panels, template variables). */
function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { targets?: { expr: string }[]; panels?: { targets?: { expr: string }[] }[] }[];
    templating: { list: { query?: unknown; definition?: string }[] };
  };
  const exprs: string[] = [];
  for (const panel of dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])) {
    for (const target of panel.targets ?? []) exprs.push(target.expr);
  }
  for (const variable of dashboard.templating.list) {
    const labelValues = /^label_values\((\w+)/.exec(variable.definition ?? '');
    if (labelValues) exprs.push(labelValues[1]!);
  }
  return exprs;
}

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const PROMQL_OPERATORS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/** The metric names a PromQL expression selects (not its functions, labels or durations). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\boffset\s+\S+/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.$])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const word = match[1]!;
    if (match[2] || PROMQL_KEYWORDS.has(word) || PROMQL_OPERATORS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** Metric families in an exposition, with their type, from the `# TYPE` lines. */
function families(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1]!, match[2]!);
  return types;
}

/** Whether a name used in a query is a series of one of the exported families. */
function exported(name: string, types: Map<string, string>): boolean {
  if (types.has(name)) return true;
  const base = /^(.*)_(bucket|count|sum)$/.exec(name);
  if (!base) return false;
  const type = types.get(base[1]!);
  return type === 'histogram' || (type === 'summary' && base[2] !== 'bucket');
}

describe('alert rules and dashboard', () => {
  it('parse the rules and dashboard queries into the metric names they use', () => {
    const rules = ruleExpressions(readFileSync(RULES, 'utf8'));
    assert.equal(rules.length, 10, 'the ten alerts docs/alerts.md lists');
    for (const { alert, expr } of rules) assert.ok(metricNames(expr).length > 0, `${alert} uses a metric`);
    assert.deepEqual(
      metricNames(
        'time() - max(a_total > 0) > 3 * 3600 or sum by (le) (rate(b_bucket{x="y",z=~"$i"}[5m] offset 1h)) / ignoring(state) c',
      ).sort(),
      ['a_total', 'b_bucket', 'c'],
    );
  });

  it('pass `promtool check rules` and the rules unit tests', { skip: NO_PROMTOOL }, () => {
    const check = spawnSync(PROMTOOL!, ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool check rules:\n${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /SUCCESS: 10 rules found/);
    const test = spawnSync(PROMTOOL!, ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
    assert.equal(test.status, 0, `promtool test rules:\n${test.stdout}${test.stderr}`);
  });

  describe('against a running instance', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ env: { TOKEN_CLEANUP_CRON: NEVER } });
    });
    after(() => t.close());

    it('use only metric names that Latch exports at /metrics', async () => {
      const scraped = await t.root.get('/metrics');
      assert.equal(scraped.status, 200);
      const types = families(scraped.text);
      const used = new Map<string, string>();
      for (const { alert, expr } of ruleExpressions(readFileSync(RULES, 'utf8'))) {
        for (const name of metricNames(expr)) used.set(name, `rule ${alert}`);
      }
      for (const expr of dashboardExpressions()) {
        for (const name of metricNames(expr)) used.set(name, used.get(name) ?? 'the dashboard');
      }
      assert.ok(used.size >= 20, `found ${used.size} metric names`);
      const missing = [...used].filter(([name]) => !exported(name, types)).map(([name, where]) => `${name} (${where})`);
      assert.deepEqual(missing, [], 'every metric a rule or panel uses is exported');
    });
  });
});

/** A free loopback TCP port (released again for the caller to bind). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Alert {
  labels: Record<string, string>;
  state: 'inactive' | 'pending' | 'firing';
}

describe('alert rules on a real Prometheus server', { skip: NO_PROMETHEUS }, () => {
  let t: TestApp;
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let base = '';

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    assert.equal(body.status, 'success', `${path}: ${body.error ?? res.status}`);
    return body.data;
  }
  const query = (expr: string) =>
    api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(expr)}`,
    );

  before(async () => {
    // Rate limits on (in this instance's memory): the alert under test counts 429 answers.
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'true', TOKEN_CLEANUP_CRON: NEVER } });
    const target = new URL(t.root.baseUrl).host;
    dir = mkdtempSync(join(tmpdir(), 'latch-prometheus-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(RULES)}`,
        'scrape_configs:',
        '  - job_name: latch',
        '    static_configs:',
        `      - targets: [${JSON.stringify(target)}]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const child = spawn(
      PROMETHEUS!,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus = child;
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    try {
      await eventually(
        async () => {
          if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${log}`);
          return fetch(`${base}/-/ready`).then(
            (res) => res.ok,
            () => false,
          );
        },
        { what: 'Prometheus ready', timeoutMs: 30_000, intervalMs: 100 },
      );
      await eventually(
        async () => {
          const up = await query('up{job="latch"}');
          return up.result[0]?.value[1] === '1';
        },
        { what: 'Prometheus scraping Latch', timeoutMs: 30_000, intervalMs: 100 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\nprometheus log:\n${log}`, { cause: error });
    }
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      const timer = setTimeout(() => prometheus?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await t?.close();
  });

  it('loads every alert rule from the rules file', async () => {
    const { groups } = await api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>(
      '/api/v1/rules',
    );
    const rules = groups.flatMap((group) => group.rules);
    assert.equal(rules.length, 10);
    await eventually(
      async () => {
        const { groups: now } = await api<{ groups: { rules: { name: string; health: string }[] }[] }>('/api/v1/rules');
        return now.flatMap((group) => group.rules).every((rule) => rule.health === 'ok');
      },
      { what: 'every rule evaluated without error', timeoutMs: 10_000, intervalMs: 100 },
    );
  });

  it('evaluates every dashboard query without error', async () => {
    for (const expr of dashboardExpressions()) {
      const concrete = expr
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '5m')
        .replaceAll('$instance', '.*');
      await query(concrete); // throws with Prometheus's error on a bad query
    }
  });

  it('sees LatchRateLimitSpike go pending when sign-ins are answered 429 en masse', async () => {
    const attempt = () => t.api.post('/auth/login', { email: 'nobody@example.com', password: 'not the password' });
    // Up to the per-address limit (10/min), then the first refusal.
    let status = 0;
    for (let i = 0; i < 20 && status !== 429; i++) status = (await attempt()).status;
    assert.equal(status, 429, 'the login limit refuses');
    // Prometheus must have seen the 429 series once before the burst, or rate() has no start.
    await eventually(
      async () => {
        const seen = await query('http_request_duration_seconds_count{job="latch",status_code="429"}');
        return seen.result.length > 0;
      },
      { what: 'Prometheus scraped the first 429', timeoutMs: 15_000, intervalMs: 100 },
    );
    // Over 300 refusals in the 5-minute window: more than 1 a second.
    for (let batch = 0; batch < 25; batch++) {
      const answers = await Promise.all(Array.from({ length: 20 }, attempt));
      assert.ok(
        answers.every((res) => res.status === 429),
        'every further attempt is refused',
      );
    }
    await eventually(
      async () => {
        const { alerts } = await api<{ alerts: Alert[] }>('/api/v1/alerts');
        return alerts.some(
          (alert) =>
            alert.labels.alertname === 'LatchRateLimitSpike' &&
            alert.labels.route?.endsWith('/auth/login') &&
            (alert.state === 'pending' || alert.state === 'firing'),
        );
      },
      { what: 'LatchRateLimitSpike pending or firing in /api/v1/alerts', timeoutMs: 30_000, intervalMs: 100 },
    );
    const { alerts } = await api<{ alerts: Alert[] }>('/api/v1/alerts');
    // Pending is left out: under a loaded machine one slow readiness ping may make LatchNotReady pending.
    assert.deepEqual(
      alerts.filter((alert) => alert.labels.alertname !== 'LatchRateLimitSpike' && alert.state === 'firing'),
      [],
      'no other alert fires',
    );
  });
});
