// The command line (`--smoke`, `--only=`, `--costs=`, `--profile`, `--memory`) and the time each step gets.

export interface Options {
  smoke: boolean;
  /** Scenario names (`--only=login,me`); every scenario when absent. */
  only: Set<string>;
  costs: number[];
  profile: boolean;
  /** Where the server's memory is after each scenario (lib/memory-map.ts). */
  memory: boolean;
}

export function parseArgs(argv: string[], names: readonly string[]): Options {
  const smoke = argv.includes('--smoke');
  const value = (name: string): string | undefined =>
    argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const only = value('only')?.split(',') ?? [...names];
  for (const name of only) {
    if (!names.includes(name)) throw new Error(`--only: unknown scenario "${name}" (${names.join(', ')})`);
  }
  // Smoke: one phase at cost 10 (the production minimum) so it stays fast; full: the production
  // default 12 (every scenario) and 10 (the bcrypt-bound ones, to compare with other services).
  const costs = (value('costs') ?? (smoke ? '10' : '12,10')).split(',').map(Number);
  if (costs.some((c) => !Number.isInteger(c) || c < 10 || c > 15)) throw new Error('--costs: bcrypt costs 10 to 15');
  return { smoke, only: new Set(only), costs, profile: argv.includes('--profile'), memory: argv.includes('--memory') };
}

export type Durations = ReturnType<typeof durations>;

/** Seconds per step; smoke keeps every scenario but only for a few seconds. */
export function durations(smoke: boolean) {
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
        settleAfterLoadSec: 1,
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
        settleAfterLoadSec: 3,
        watchdogMin: 25,
      };
}

/** The concurrencies of the scenarios that are not bcrypt-bound. */
export const CONCURRENCY = [16, 64];
