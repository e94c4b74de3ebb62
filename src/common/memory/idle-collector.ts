// Gives memory back when the process goes quiet. V8 keeps the heap it grew under load (and the
// garbage of start-up) until its own memory reducer runs, which takes a minute or more idle; in a
// small container that is resident memory for nothing. When a load subsides (the event loop was
// busy, and has now been mostly idle for half a second with no request in flight) and the heap has
// grown past its size after the last collection, this runs one full, compacting collection that
// also shrinks the young generation and releases pages (V8's "last resort" flavour, 90 to 160 ms
// on a 50 MB heap): once right after start (the garbage of start-up), then once per load that came
// and went, at most once every MIN_INTERVAL_MS. A steady load, light or heavy, is never paused by
// it. It needs `--expose-gc`, which the shipped start flags set (docs/operations.md, "Memory");
// without it, it does nothing.
import { getHeapStatistics } from 'node:v8';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

export type CollectGarbage = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

export interface IdleCollectorOptions {
  /** Defaults to the `gc` that `--expose-gc` installs; absent means no collector. */
  gc?: CollectGarbage;
  /** Physical heap size in bytes (default: V8's heap statistics). */
  heapBytes?: () => number;
  /** Event-loop utilization since the previous call, 0 to 1 (default: perf_hooks). */
  utilization?: () => number;
  /** Requests arrived and not yet answered (default: none known). */
  inFlight?: () => number;
  now?: () => number;
}

/** How often the loop's utilization and the heap are looked at. */
export const TICK_MS = 250;
/** Busy: the loop busy at least this share of a tick. A collection waits for a busy tick since the last one. */
export const BUSY_UTILIZATION = 0.5;
/**
 * Quiet: the loop busy less than this share of the time (a few requests at most) and no request in
 * flight, for QUIET_TICKS ticks in a row: the pause of a collection then meets few requests. A
 * login storm leaves the loop nearly idle while its logins wait for bcrypt on other threads; the
 * requests in flight tell it from a load that has ended.
 */
export const QUIET_UTILIZATION = 0.05;
export const QUIET_TICKS = 2;
/**
 * Collect only when the heap grew at least this much since the last collection. A login storm
 * or a burst of fast requests leaves 12 to 16 MB (the bench, `--memory`); a steady trickle never
 * gets here, since a collection waits for a busy tick.
 */
export const GROWTH_BYTES = 8 * 2 ** 20;
/** At most one collection per this interval. */
export const MIN_INTERVAL_MS = 2_000;

/**
 * The decision, kept apart from timers: `tick()` is called every TICK_MS and answers whether it
 * collected. Without a `collect()` first, the first quiet moment always collects.
 */
export class IdleCollector {
  private quietTicks = 0;
  private baselineBytes: number | undefined;
  private lastAt = Number.NEGATIVE_INFINITY;
  /** Whether the loop has been busy since the last collection (a load came and went). */
  private sawBusy = true;
  collections = 0;

  constructor(
    private readonly gc: CollectGarbage,
    private readonly heapBytes: () => number,
    private readonly utilization: () => number,
    private readonly now: () => number,
    private readonly inFlight: () => number = () => 0,
  ) {}

  tick(): boolean {
    const utilization = this.utilization();
    if (utilization >= BUSY_UTILIZATION) this.sawBusy = true;
    const quiet = utilization < QUIET_UTILIZATION && this.inFlight() === 0;
    this.quietTicks = quiet ? this.quietTicks + 1 : 0;
    if (!this.sawBusy || this.quietTicks < QUIET_TICKS) return false;
    if (this.now() - this.lastAt < MIN_INTERVAL_MS) return false;
    if (this.baselineBytes !== undefined && this.heapBytes() - this.baselineBytes < GROWTH_BYTES) return false;
    this.collect();
    return true;
  }

  /** One collection now; the next waits for growth, quiet and the interval. */
  collect(): void {
    this.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    this.collections += 1;
    this.lastAt = this.now();
    this.baselineBytes = this.heapBytes();
    this.quietTicks = 0;
    this.sawBusy = false;
  }
}

/** Event-loop utilization over each interval between calls. */
function utilizationSinceLastCall(): () => number {
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const current = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(current, previous);
    previous = current;
    return delta.utilization;
  };
}

/**
 * Collects once now (the start-up garbage: call it once the server listens), then watches on an
 * unref'd timer; answers a stop function, or undefined without `gc`.
 */
export function startIdleCollector(options: IdleCollectorOptions = {}): (() => void) | undefined {
  const gc = options.gc ?? (globalThis as { gc?: CollectGarbage }).gc;
  if (typeof gc !== 'function') return undefined;
  const collector = new IdleCollector(
    gc,
    options.heapBytes ?? (() => getHeapStatistics().total_physical_size),
    options.utilization ?? utilizationSinceLastCall(),
    options.now ?? Date.now,
    options.inFlight,
  );
  collector.collect();
  const timer = setInterval(() => collector.tick(), TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
