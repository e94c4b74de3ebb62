// Preloaded into the Latch server process by the bench (`node -r .build/bench/lib/probe.js dist/main.js`).
// It changes nothing in the service; it counts what the process sends to its dependencies, at the
// client side, and answers the bench's IPC question "what are your counters now?":
// - PostgreSQL: every pg `Client#query` call, which is what TypeORM's pooled connections and
//   `DataSource#query` go through (BEGIN and COMMIT included). Each call is one round trip: the
//   extended protocol sends Parse/Bind/Execute/Sync in one write and waits for one answer.
// - Redis: ioredis `sendCommand` calls (every Redis connection of Latch is ioredis; a pipeline's
//   commands count one each, though they travel together).
// Each round trip is attributed to the route of the HTTP request that caused it: an
// AsyncLocalStorage is entered with "METHOD /path" when Node's HTTP server starts a request
// (diagnostics channel http.server.request.start), so a query made by a request, or by
// after-response work it started (event listeners), counts for that route; one made by timers
// started at boot (cron, outbox polling) counts as background ("").
// - process CPU (all threads, so bcrypt on the libuv pool counts) and event-loop delay;
// - bytes allocated on the V8 heap per request: the growth of the used heap between collections,
//   read from V8's GC profiler (every collection's heap before and after it), over a sample: the
//   first ALLOCATION_WINDOW_GCS collections after a snapshot that asks for it (a scenario's start),
//   divided by the requests started in that window.
//   Unlike CPU time it hardly depends on what else the machine is doing, so it can compare request
//   paths a few per cent apart. The sample is bounded because the profiler keeps its record in the
//   server's native memory (about 2 KB per collection) until it is stopped and collected: left on
//   for whole scenarios it grew by 100 to 200 MB under fast load, all of it in the server's RSS peak.
// With `--profile`, it also records a V8 CPU profile of each measured scenario on request.
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics } from 'node:v8';

export interface RouteCounts {
  pg: number;
  redis: number;
}

export interface ProbeSnapshot {
  pgQueries: number;
  redisCommands: number;
  /** Round trips by the route that caused them ("" = background work). */
  routes: Record<string, RouteCounts>;
  /**
   * Round trips by `${route}\t${statement}`: SQL whitespace-collapsed to 100 characters, Redis as
   * "redis COMMAND".
   */
  pgStatements: Record<string, number>;
  cpuMicros: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Bytes allocated on the V8 heap in the sampled windows so far, and the requests started in them. */
  allocatedBytes: number;
  allocationRequests: number;
  /** Garbage collections so far: pause time and count, minor (scavenges) and major (mark-compacts). */
  gcMs: number;
  minorGcs: number;
  majorGcs: number;
}

export type ProbeRequest =
  | { type: 'snapshot'; sampleAllocation?: boolean }
  | { type: 'gc' }
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file: string };

const counters = { pgQueries: 0, redisCommands: 0 };
const gc = { gcMs: 0, minorGcs: 0, majorGcs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.gcMs += entry.duration;
    allocation.collections += 1;
    const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minorGcs += 1;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.majorGcs += 1;
  }
}).observe({ entryTypes: ['gc'] });

interface GcHeapStatistics {
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

/**
 * Allocation in a window: between two collections the used heap grows only by allocation, so it is
 * the sum of each collection's used heap before it less the previous one's after it, plus the growth
 * since the last. (Memory a major collection frees is swept lazily, shrinking the used heap between
 * collections; that window's allocation is then undercounted, by at most what was swept.)
 * A window opens at a snapshot that asks for one and closes at the next snapshot or after
 * ALLOCATION_WINDOW_GCS collections (about 2 s of the fastest scenario; a bcrypt-bound one never gets
 * there), so at most that many are on record.
 */
const ALLOCATION_WINDOW_GCS = 200;
const allocation = {
  bytes: 0,
  requests: 0,
  collections: 0,
  lastUsed: 0,
  profiler: undefined as GCProfiler | undefined,
};

/** Adds the open window's allocation so far to the total and closes it. */
function closeAllocationWindow(): void {
  if (!allocation.profiler) return;
  const report = allocation.profiler.stop() as { statistics?: GcHeapStatistics[] } | undefined;
  allocation.profiler = undefined;
  for (const collection of report?.statistics ?? []) {
    allocation.bytes += Math.max(0, collection.beforeGC.heapStatistics.usedHeapSize - allocation.lastUsed);
    allocation.lastUsed = collection.afterGC.heapStatistics.usedHeapSize;
  }
  allocation.bytes += Math.max(0, getHeapStatistics().used_heap_size - allocation.lastUsed);
}

function openAllocationWindow(): void {
  closeAllocationWindow();
  allocation.collections = 0;
  allocation.lastUsed = getHeapStatistics().used_heap_size;
  allocation.profiler = new GCProfiler();
  allocation.profiler.start();
}

// Closes a window once it has its sample of collections (the observer above counts them).
setInterval(() => {
  if (allocation.profiler && allocation.collections >= ALLOCATION_WINDOW_GCS) closeAllocationWindow();
}, 100).unref();

const routes = new Map<string, RouteCounts>();
const statements = new Map<string, number>();
const origin = new AsyncLocalStorage<string>();
subscribe('http.server.request.start', (message) => {
  const { request } = message as { request: { method?: string; url?: string } };
  origin.enterWith(`${request.method ?? '?'} ${(request.url ?? '').split('?')[0]}`);
  if (allocation.profiler) allocation.requests += 1;
});

function count(kind: 'pg' | 'redis'): string {
  const route = origin.getStore() ?? '';
  let entry = routes.get(route);
  if (!entry) routes.set(route, (entry = { pg: 0, redis: 0 }));
  entry[kind] += 1;
  if (kind === 'pg') counters.pgQueries += 1;
  else counters.redisCommands += 1;
  return route;
}

function record(route: string, statement: string): void {
  const key = `${route}\t${statement}`;
  statements.set(key, (statements.get(key) ?? 0) + 1);
}

// Statements repeat, so their short form is kept rather than recomputed on every query (the probe
// should cost the server as little as it can).
const shortForms = new Map<string, string>();

function statementOf(args: unknown[]): string {
  const first = args[0] as { text?: unknown } | string | undefined;
  const text = typeof first === 'string' ? first : typeof first?.text === 'string' ? first.text : '(query object)';
  let short = shortForms.get(text);
  if (short === undefined) {
    short = text.replace(/\s+/g, ' ').trim().slice(0, 100);
    if (shortForms.size < 10_000) shortForms.set(text, short);
  }
  return short;
}

type Patchable = { prototype: Record<string, unknown> } | undefined;

function countCalls(target: Patchable, method: string, kind: 'pg' | 'redis'): void {
  const original = target?.prototype[method];
  if (typeof original !== 'function') return;
  target!.prototype[method] = function (this: unknown, ...args: unknown[]): unknown {
    const route = count(kind);
    record(route, kind === 'pg' ? statementOf(args) : `redis ${String((args[0] as { name?: unknown })?.name ?? '?')}`);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
}

function optionalRequire(name: string): any {
  try {
    return require(name);
  } catch {
    return undefined;
  }
}

countCalls(optionalRequire('pg')?.Client, 'query', 'pg');
const ioredis = optionalRequire('ioredis');
countCalls(ioredis?.default ?? ioredis, 'sendCommand', 'redis');

const eventLoopDelay = monitorEventLoopDelay({ resolution: 10 });
eventLoopDelay.enable();

function snapshot(sampleAllocation = false): ProbeSnapshot {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  const result: ProbeSnapshot = {
    ...counters,
    ...gc,
    routes: Object.fromEntries([...routes].map(([route, c]) => [route, { ...c }])),
    pgStatements: Object.fromEntries(statements),
    cpuMicros: cpu.user + cpu.system,
    eventLoopDelayP99Ms: eventLoopDelay.percentile(99) / 1e6,
    eventLoopDelayMaxMs: eventLoopDelay.max / 1e6,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    allocatedBytes: 0,
    allocationRequests: 0,
  };
  closeAllocationWindow();
  result.allocatedBytes = allocation.bytes;
  result.allocationRequests = allocation.requests;
  if (sampleAllocation) openAllocationWindow();
  eventLoopDelay.reset();
  return result;
}

// CPU profiles of single scenarios (`npm run bench -- --profile`), through the in-process inspector.
let profiler: Session | undefined;

function post(method: string): Promise<any> {
  return new Promise((resolve, reject) =>
    profiler!.post(method, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

async function handle(message: ProbeRequest): Promise<unknown> {
  if (message.type === 'snapshot') return snapshot(message.sampleAllocation);
  if (message.type === 'gc') {
    // A full collection through the inspector, to tell live memory from garbage V8 has not collected yet.
    const session = new Session();
    session.connect();
    await new Promise((resolve) => session.post('HeapProfiler.collectGarbage', resolve));
    session.disconnect();
    return snapshot();
  }
  if (message.type === 'profile-start') {
    profiler = new Session();
    profiler.connect();
    await post('Profiler.enable');
    await post('Profiler.start');
    return { ok: true };
  }
  if (!profiler) return { ok: false };
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  profiler.disconnect();
  profiler = undefined;
  writeFileSync(message.file, JSON.stringify(profile));
  return { ok: true };
}

process.on('message', (message: ProbeRequest) => {
  if (typeof message !== 'object' || message === null || !process.send) return;
  handle(message).then(
    (answer) => process.send?.(answer),
    (error: unknown) => process.send?.({ ok: false, error: String(error) }),
  );
});
// The IPC channel must not keep the service alive on its own (shutdown stays the service's business).
process.channel?.unref();
