// The load generator: autocannon (closed loop, one request in flight per connection, no
// pipelining) in the bench process, against a server in another process over loopback.
// Latencies are recorded per response from autocannon's 'response' event (sub-millisecond
// floats), so percentiles are computed here rather than from its integer histogram.
import autocannon from 'autocannon';

/** One connection's request sequence; its closures may carry state from response to request. */
export type ClientRequests = autocannon.Request[];

export interface LoadSpec {
  url: string;
  connections: number;
  durationSec: number;
  /** Seconds before autocannon gives up on a response (bcrypt queues are long at c64). */
  timeoutSec?: number;
  /** The requests of connection number `index` (0-based, stable across runs of the same spec). */
  requests: (index: number) => ClientRequests;
}

export interface LoadResult {
  connections: number;
  durationSec: number;
  /** Requests written to the server (completed or not), the denominator of per-request costs. */
  sent: number;
  completed: number;
  ok: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  errors: number;
  timeouts: number;
  statuses: Record<string, number>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  let nextClient = 0;
  const started = process.hrtime.bigint();
  let instance: autocannon.Instance | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.durationSec,
        timeout: spec.timeoutSec ?? 10,
        pipelining: 1,
        setupClient: (client) => client.setRequests(spec.requests(nextClient++)),
      },
      (error, result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result)),
    );
  });
  instance!.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) ok += 1;
  });
  const result = await done;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const non2xx = latencies.length - ok;
  return {
    connections: spec.connections,
    durationSec: elapsed,
    sent: result.requests.sent,
    completed: latencies.length,
    ok,
    rps: ok / elapsed,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    mean: latencies.reduce((sum, value) => sum + value, 0) / (latencies.length || 1),
    errors: non2xx + result.errors,
    timeouts: result.timeouts,
    statuses,
  };
}

/** A JSON request; `body` is re-evaluated for every request when it is a function. */
export function jsonRequest(
  method: 'GET' | 'POST',
  path: string,
  options: {
    body?: () => unknown;
    headers?: () => Record<string, string>;
    onResponse?: (status: number, body: string) => void;
  } = {},
): autocannon.Request {
  return {
    method,
    path,
    setupRequest: (request) => ({
      ...request,
      method,
      path,
      headers: {
        ...(options.body ? { 'content-type': 'application/json' } : {}),
        ...(options.headers?.() ?? {}),
      },
      body: options.body ? JSON.stringify(options.body()) : undefined,
    }),
    onResponse: options.onResponse ? (status, body) => options.onResponse!(status, body) : undefined,
  };
}
