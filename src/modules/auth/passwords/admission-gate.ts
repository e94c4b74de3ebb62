// Bounded concurrency with a bounded, time-limited queue, for CPU-heavy work (bcrypt). Work past
// the limit waits its turn; when the queue is full, or a turn does not come within the longest
// wait, the caller gets 503 SERVICE_UNAVAILABLE with a Retry-After estimated from recent run times,
// instead of piling up without end while health probes and token checks starve.
import { AppError, ErrorCode } from '../../../common/errors/app-error';

interface Waiter {
  resolve(): void;
  reject(error: AppError): void;
  timer: NodeJS.Timeout;
}

export interface AdmissionGateOptions {
  concurrency: number;
  queueMax: number;
  /** Longest time a caller waits for its turn before it is answered 503. */
  maxWaitMs: number;
}

export class AdmissionGate {
  private running = 0;
  private readonly queue: Waiter[] = [];
  /** Moving average of one job's duration, for Retry-After. */
  private averageMs = 100;
  private turnedAway = 0;

  constructor(private readonly options: AdmissionGateOptions) {}

  get stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.queue.length };
  }

  /** Callers answered 503 so far (queue full or waited too long), for the metrics. */
  get rejected(): number {
    return this.turnedAway;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.averageMs = this.averageMs * 0.8 + (performance.now() - started) * 0.2;
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.options.concurrency) {
      this.running += 1;
      return Promise.resolve();
    }
    if (this.queue.length >= this.options.queueMax) return Promise.reject(this.overloaded());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(this.overloaded());
        }, this.options.maxWaitMs),
      };
      this.queue.push(waiter);
    });
  }

  /** Hands the slot straight to the next waiter, so the running count never dips under load. */
  private release(): void {
    const next = this.queue.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve();
    } else {
      this.running -= 1;
    }
  }

  private overloaded(): AppError {
    this.turnedAway += 1;
    const backlog = this.running + this.queue.length;
    const seconds = Math.ceil((backlog * this.averageMs) / this.options.concurrency / 1000);
    return new AppError(ErrorCode.ServiceUnavailable, 'Too many password checks are in progress; try again shortly.', {
      retryAfter: Math.min(Math.max(seconds, 1), 30),
    });
  }
}
