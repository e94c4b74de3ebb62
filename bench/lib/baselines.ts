// Baselines measured in the same run as the scenarios, so results are ratios that survive a noisy
// machine: what bcrypt itself does on these cores, and what one bare database round trip costs.
import * as bcrypt from 'bcrypt';
import { createHmac } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { percentile } from './load';

export interface BcryptCeiling {
  cost: number;
  threads: number;
  /** Completed operations per second with `threads` operations always in flight. */
  hashesPerSec: number;
  comparesPerSec: number;
  /**
   * CPU time per operation (this process, all threads). Unlike the rates it hardly moves when other
   * processes compete for the cores, so it is compared with the server's CPU per login.
   */
  cpuMsPerHash: number;
  cpuMsPerCompare: number;
}

export interface LatencyStats {
  samples: number;
  p50: number;
  p99: number;
  mean: number;
}

// The service hashes an HMAC-SHA-256 pre-hash (44 base64 characters), so the baseline does too.
const PASSWORD = createHmac('sha256', 'latch-bench').update('a bench password').digest('base64');

/**
 * Keeps `threads` bcrypt operations in flight (one per core: bcrypt's async API runs on libuv's
 * thread pool) for `durationMs` and counts completions per second.
 */
async function saturate(
  threads: number,
  durationMs: number,
  operation: () => Promise<unknown>,
): Promise<{ perSec: number; cpuMsPerOp: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + durationMs;
  let completed = 0;
  let lastCompletion = started;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await operation();
      completed += 1;
      lastCompletion = performance.now();
    }
  };
  await Promise.all(Array.from({ length: threads }, worker));
  const used = process.cpuUsage(cpu);
  return {
    perSec: completed / ((lastCompletion - started) / 1000),
    cpuMsPerOp: (used.user + used.system) / 1000 / completed,
  };
}

/** The bcrypt ceiling at a cost: hashes (genSalt + hash, as register does) and compares (as login). */
export async function bcryptCeiling(cost: number, durationMs: number): Promise<BcryptCeiling> {
  const threads = availableParallelism();
  const hash = await bcrypt.hash(PASSWORD, cost);
  const hashes = await saturate(threads, durationMs, () => bcrypt.hash(PASSWORD, cost));
  const compares = await saturate(threads, durationMs, () => bcrypt.compare(PASSWORD, hash));
  return {
    cost,
    threads,
    hashesPerSec: hashes.perSec,
    comparesPerSec: compares.perSec,
    cpuMsPerHash: hashes.cpuMsPerOp,
    cpuMsPerCompare: compares.cpuMsPerOp,
  };
}

/** One compare at a time: the floor under a login's latency. */
export async function bcryptCompareLatency(cost: number, samples: number): Promise<LatencyStats> {
  const hash = await bcrypt.hash(PASSWORD, cost);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await bcrypt.compare(PASSWORD, hash);
    times.push(performance.now() - started);
  }
  return stats(times);
}

export interface DbRoundTrip extends LatencyStats {
  concurrency: number;
  poolMax: number;
  perSec: number;
}

/** `SELECT 1` through a pg pool of the service's size, `concurrency` callers in a closed loop. */
export async function dbRoundTrip(
  databaseUrl: string,
  poolMax: number,
  concurrency: number,
  durationMs: number,
): Promise<DbRoundTrip> {
  const pool = new Pool({ connectionString: databaseUrl, max: poolMax, application_name: 'latch-bench' });
  try {
    // Open the connections first: the service's pool is warm too.
    await Promise.all(Array.from({ length: Math.min(poolMax, concurrency) }, () => pool.query('SELECT 1')));
    const times: number[] = [];
    const started = performance.now();
    const deadline = started + durationMs;
    const caller = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await pool.query('SELECT 1');
        times.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, caller));
    const elapsed = (performance.now() - started) / 1000;
    return { ...stats(times), concurrency, poolMax, perSec: times.length / elapsed };
  } finally {
    await pool.end();
  }
}

function stats(times: number[]): LatencyStats {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((sum, value) => sum + value, 0) / (sorted.length || 1),
  };
}
