// Collects an app's log output (one JSON object per line) for assertions.
import type { LogDestination } from '../../src/modules/observability/logging/app-logger';

export interface LogLine {
  level: string;
  msg?: string;
  reqId?: string;
  userId?: string;
  sessionId?: string;
  [field: string]: unknown;
}

export class LogCapture implements LogDestination {
  private readonly chunks: string[] = [];

  write(chunk: string): void {
    this.chunks.push(chunk);
  }

  /** Everything written so far, exactly as it would have reached stdout. */
  get text(): string {
    return this.chunks.join('');
  }

  get lines(): LogLine[] {
    return this.text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LogLine);
  }

  forRequest(requestId: string): LogLine[] {
    return this.lines.filter((line) => line.reqId === requestId);
  }
}

/** Reads one sample from a Prometheus text exposition; 0 when the series does not exist yet. */
export function sample(exposition: string, series: string): number {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

/** Sums every sample of a metric whose labels include all of `labels` (e.g. 'result="hit"'). */
export function sumSamples(exposition: string, name: string, ...labels: string[]): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (labels.every((label) => (match[2] ?? '').includes(label))) total += Number(match[3]);
  }
  return total;
}
