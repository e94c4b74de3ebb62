// `npm run bench [-- --smoke] [-- --only=login,me] [-- --costs=12,10] [-- --profile] [-- --memory]`
// `node .build/bench/run.js --render=bench/results/<time>.json` prints an earlier run again.
// Starts the built service in production mode (rate limits off) as a child process, seeds it,
// drives it over loopback with autocannon from this process, measures the baselines in the same
// run, prints the tables and targets, and writes bench/results/<timestamp>.json. Every step is
// bounded in time; a watchdog ends the run if something hangs.
// Database: a fresh one per server start, on the PostgreSQL of DATABASE_URL (its server; the
// database named in the URL is left alone), or on the embedded PostgreSQL without DATABASE_URL.
//
// Layout: scenarios/ holds one file per scenario and the list they run in (scenarios/index.ts);
// lib/runner.ts starts the server per bcrypt cost and runs them; lib/phase.ts is what a scenario
// gets (the server, its seed, `measure`); lib/targets.ts and lib/render.ts turn the results
// (lib/results.ts) into the report.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { SCENARIO_NAMES } from './scenarios';
import { log } from './lib/http';
import { durations, parseArgs } from './lib/options';
import { renderReport } from './lib/render';
import type { RunReport } from './lib/results';
import { BenchRunner } from './lib/runner';
import { evaluateTargets } from './lib/targets';

async function main(): Promise<void> {
  const render = process.argv.find((a) => a.startsWith('--render='))?.slice('--render='.length);
  if (render) {
    const report = JSON.parse(readFileSync(render, 'utf8')) as RunReport;
    report.targets = evaluateTargets(report);
    log(renderReport(report));
    return;
  }
  const options = parseArgs(process.argv.slice(2), SCENARIO_NAMES);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const bench = new BenchRunner(options, stamp);
  const { watchdogMin } = durations(options.smoke);
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${watchdogMin} min; stopping`);
    void bench.cleanup().finally(() => process.exit(2));
  }, watchdogMin * 60_000);
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
