// The one way a test waits: for a condition it can observe, never for a length of time that
// mirrors an interval inside Latch. On timeout it fails, saying what it waited for and what it saw.
import { AssertionError } from 'node:assert';
import { inspect } from 'node:util';

export interface EventuallyOptions {
  /** What is awaited, for the failure message: "B refuses the logged-out token". */
  what: string;
  /** Give up after this long (default 5 s). */
  timeoutMs?: number;
  /** Pause between two attempts (default 50 ms). */
  intervalMs?: number;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Calls `condition` until it returns a truthy value, and returns that value. An attempt that throws
 * (a failed assertion, a refused connection) counts as "not yet". After `timeoutMs` it fails with
 * `what`, the time waited and the last value returned or error thrown.
 */
export async function eventually<T>(
  condition: () => T | Promise<T>,
  { what, timeoutMs = 5_000, intervalMs = 50 }: EventuallyOptions,
): Promise<Truthy<T>> {
  const started = Date.now();
  let last: { value: unknown } | { error: unknown } | undefined;
  for (;;) {
    const left = started + timeoutMs - Date.now();
    const outcome = await attempt(condition, Math.max(left, 0));
    if (outcome !== TIMED_OUT) {
      if ('value' in outcome && outcome.value) return outcome.value as Truthy<T>;
      last = outcome;
    }
    const elapsed = Date.now() - started;
    if (outcome === TIMED_OUT || elapsed + intervalMs > timeoutMs) {
      const seen = [
        outcome === TIMED_OUT ? 'the last attempt was still running' : '',
        !last
          ? ''
          : 'error' in last
            ? `last error: ${last.error instanceof Error ? last.error.message : inspect(last.error)}`
            : `last value: ${inspect(last.value, { depth: 3, breakLength: Infinity })}`,
      ];
      const failure = new AssertionError({
        message: `Timed out after ${elapsed} ms waiting for ${what} (${seen.filter(Boolean).join('; ')})`,
      });
      if (last && 'error' in last) failure.cause = last.error;
      throw failure;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const TIMED_OUT = Symbol('timed out');

/** One call of `condition`, bounded by the time left: a hanging attempt does not hide the failure. */
async function attempt<T>(
  condition: () => T | Promise<T>,
  ms: number,
): Promise<{ value: T } | { error: unknown } | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  const run = (async () => {
    try {
      return { value: await condition() };
    } catch (error) {
      return { error };
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
