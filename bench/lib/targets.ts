// The targets of issues 8, 13, 14 and 18 for a 2-core machine, each computed from the run's own baselines
// (ratios survive a noisy machine better than absolute figures). Reported, never enforced.
import { ceiling, findResult, RunReport, ScenarioResult, Target } from './results';

function target(
  issue: string,
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
  return { id, issue, description, measured: value, limit, kind, unit, met, note };
}

function ratio(a: { rps: number } | undefined, b: { rps: number } | undefined): number | null {
  return a && b && b.rps > 0 ? a.rps / b.rps : null;
}

function bcryptTargets(report: RunReport): Target[] {
  const targets: Target[] = [];
  for (const { cost } of report.phases) {
    const base = report.baselines.bcrypt.find((b) => b.cost === cost);
    const compares = ceiling(base, 'comparesPerSec');
    const hashes = ceiling(base, 'hashesPerSec');
    const login16 = findResult(report, 'login', 16, cost);
    const login1 = findResult(report, 'login', 1, cost);
    const register16 = findResult(report, 'register', 16, cost);
    if (login16 && compares) {
      const description = `login c16 req/s ÷ bcrypt compare ceiling (cost ${cost})`;
      targets.push(target('8', `login-ceiling-c${cost}`, description, login16.rps / compares, 'min', 0.9, 'ratio'));
      const tail = login16.p99 / login16.p50;
      targets.push(target('8', `login-tail-c${cost}`, `login c16 p99 ÷ p50 (cost ${cost})`, tail, 'max', 3, 'ratio'));
    }
    if (login1 && base?.compareLatency) {
      const description = `login c1 p50 − one bcrypt compare p50 (cost ${cost})`;
      const extra = login1.p50 - base.compareLatency.p50;
      targets.push(target('8', `login-c1-c${cost}`, description, extra, 'max', 5, 'ms'));
      targets.push(target('18', `login-c1-tight-c${cost}`, description, extra, 'max', 3, 'ms'));
    }
    if (register16 && hashes) {
      const description = `register c16 req/s ÷ bcrypt hash ceiling (cost ${cost})`;
      targets.push(
        target('8', `register-ceiling-c${cost}`, description, register16.rps / hashes, 'min', 0.85, 'ratio'),
      );
    }
  }
  return targets;
}

function stormTargets(report: RunReport): Target[] {
  const probe = (suffix: string): ScenarioResult | undefined =>
    report.scenarios.find((s) => s.scenario === 'storm probe' && s.path.endsWith(suffix));
  const readiness = probe('/health/readiness');
  const liveness = probe('/health/liveness');
  const me = probe('/users/me');
  return [
    target(
      '8',
      'storm-readiness-p99',
      'during the login storm: /health/readiness p99',
      readiness?.p99,
      'max',
      20,
      'ms',
    ),
    target('8', 'storm-me-p99', 'during the login storm: /users/me p99', me?.p99, 'max', 20, 'ms'),
    target('18', 'storm-me-p99-tight', 'during the login storm: /users/me p99', me?.p99, 'max', 10, 'ms'),
    target('18', 'storm-liveness-max', 'during the login storm: /health/liveness max', liveness?.max, 'max', 100, 'ms'),
    target('18', 'storm-me-max', 'during the login storm: /users/me max', me?.max, 'max', 100, 'ms'),
  ];
}

function frameworkTargets(report: RunReport): Target[] {
  const targets: Target[] = [];
  for (const connections of [16, 64]) {
    const bare = report.baselines.fastify.find((f) => f.connections === connections);
    const me = findResult(report, 'users/me', connections);
    const verify = findResult(report, 'auth/verify', connections);
    if (me && bare) {
      const description = `/users/me c${connections} req/s ÷ bare Fastify`;
      targets.push(
        target(
          connections === 16 ? '8, 18' : '8',
          `me-vs-fastify-c${connections}`,
          description,
          ratio(me, bare),
          'min',
          0.4,
          'ratio',
        ),
      );
    }
    if (verify && bare) {
      const description = `/auth/verify c${connections} req/s ÷ bare Fastify`;
      targets.push(
        target('18', `verify-vs-fastify-c${connections}`, description, ratio(verify, bare), 'min', 0.4, 'ratio'),
      );
    }
  }
  const me16 = findResult(report, 'users/me', 16);
  const nest16 = report.baselines.nest?.find((n) => n.connections === 16);
  if (me16 && nest16) {
    const description = '/users/me c16 req/s ÷ minimal NestJS app';
    targets.push(target('18', 'me-vs-nest-c16', description, ratio(me16, nest16), 'min', 0.5, 'ratio'));
  }
  if (me16) {
    const description = '/users/me c16 DB round trips per request (warm cache)';
    targets.push(target('8', 'me-db', description, me16.dbPerRequest, 'max', 0.01, 'per req'));
  }
  const verify16 = findResult(report, 'auth/verify', 16);
  const keyVerify16 = findResult(report, 'auth/verify (api key)', 16);
  if (keyVerify16) {
    const description = '/auth/verify with X-API-Key c16 DB round trips per request (warm cache)';
    targets.push(target('14', 'verify-key-db', description, keyVerify16.dbPerRequest, 'max', 0.01, 'per req'));
  }
  if (keyVerify16 && verify16) {
    const description = '/auth/verify c16 req/s: X-API-Key ÷ bearer token (same run)';
    targets.push(target('14', 'verify-key-vs-bearer', description, ratio(keyVerify16, verify16), 'min', 0.9, 'ratio'));
  }
  const refresh16 = findResult(report, 'refresh', 16);
  if (refresh16) {
    const description = 'refresh c16 DB round trips per refresh';
    targets.push(target('8, 18', 'refresh-db', description, refresh16.dbPerRequest, 'max', 2, 'per req'));
    targets.push(target('8, 18', 'refresh-rps', 'refresh c16 req/s', refresh16.rps, 'min', 1500, 'req/s'));
  }
  const forgot16 = findResult(report, 'forgot-password', 16);
  const forgotNote = report.phases[0]?.forgotPasswordPresent === false ? 'endpoint not present yet' : undefined;
  const forgotDescription = 'forgot-password c16 p99 (slow SMTP server)';
  targets.push(target('8', 'forgot-p99', forgotDescription, forgot16?.p99, 'max', 20, 'ms', forgotNote));
  return targets;
}

function memoryTargets(report: RunReport): Target[] {
  if (report.phases.length === 0) return [];
  const idle = Math.max(...report.phases.map((p) => p.rssIdleMb));
  const peak = Math.max(...report.phases.map((p) => p.rssPeakMb), ...report.scenarios.map((s) => s.rssPeakMb));
  const afterLoad = report.phases.map((p) => p.rssIdleAfterLoadMb).filter((v): v is number => v !== undefined);
  return [
    target('8, 18', 'rss-idle', 'server RSS idle after start', idle, 'max', 120, 'MB'),
    target('8, 18', 'rss-peak', 'server RSS peak under any scenario (VmHWM)', peak, 'max', 250, 'MB'),
    target(
      '18',
      'rss-after-load',
      'server RSS idle after the load runs (no forced GC)',
      afterLoad.length > 0 ? Math.max(...afterLoad) : null,
      'max',
      150,
      'MB',
    ),
  ];
}

export function evaluateTargets(report: RunReport): Target[] {
  return [
    ...bcryptTargets(report),
    ...stormTargets(report),
    ...frameworkTargets(report),
    ...memoryTargets(report),
    ...keysTargets(report),
  ];
}

/** Issue 13: the JWKS against bare Fastify, and the CPU one access token's signature costs. */
function keysTargets(report: RunReport): Target[] {
  const targets: Target[] = [];
  const jwks = findResult(report, 'jwks', 16);
  const bare = report.baselines.fastify.find((f) => f.connections === 16);
  if (jwks && bare) {
    const description = '/.well-known/jwks.json c16 req/s ÷ bare Fastify';
    targets.push(target('13', 'jwks-vs-fastify-c16', description, ratio(jwks, bare), 'min', 0.6, 'ratio'));
  }
  for (const m of report.micro ?? []) {
    if (m.name !== 'sign-cpu') continue;
    const description = `CPU per access token signed, ${m.alg} (jose, in process)`;
    targets.push(target('13', `sign-cpu-${m.alg}`, description, m.value, 'max', 0.1, 'ms'));
  }
  return targets;
}
