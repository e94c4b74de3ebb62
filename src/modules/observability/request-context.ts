// Per-request context carried through async work with AsyncLocalStorage: the request id, who the
// caller is once known, the auth outcome the domain events reported, and the time spent in bcrypt
// and in the database. Log lines read it to stamp the request; Server-Timing and slow-request
// warnings read the timings.
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

export type TimedWork = 'db' | 'bcrypt';

export interface RequestTimings {
  db: number;
  dbQueries: number;
  bcrypt: number;
}

export interface RequestContext {
  readonly requestId: string;
  /** performance.now() when the request arrived, and when its handler started (after body parsing). */
  readonly startedAt: number;
  handlerStartedAt?: number;
  handlerEndedAt?: number;
  userId?: string;
  sessionId?: string;
  /** The authenticated caller, as the JWT guard attached it to the request (read lazily). */
  auth?: () => { userId?: unknown; sessionId?: unknown } | undefined;
  /** Result label an auth domain event reported for this request (login, refresh, register). */
  outcome?: string;
  readonly timings: RequestTimings;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function newRequestContext(requestId: string): RequestContext {
  return { requestId, startedAt: performance.now(), timings: { db: 0, dbQueries: 0, bcrypt: 0 } };
}

export function runInRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Adds measured work (milliseconds) to the current request's timing, if there is a request. */
export function addRequestTiming(work: TimedWork, ms: number, context = storage.getStore()): void {
  if (!context) return;
  context.timings[work] += ms;
  if (work === 'db') context.timings.dbQueries += 1;
}

/** The fields every log line of a request carries. */
export function requestLogFields(context: RequestContext): Record<string, string> {
  const fields: Record<string, string> = { reqId: context.requestId };
  const auth = context.auth?.();
  const userId = context.userId ?? (typeof auth?.userId === 'string' ? auth.userId : undefined);
  const sessionId = context.sessionId ?? (typeof auth?.sessionId === 'string' ? auth.sessionId : undefined);
  if (userId) fields.userId = userId;
  if (sessionId) fields.sessionId = sessionId;
  return fields;
}
