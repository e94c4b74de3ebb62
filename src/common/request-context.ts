// The one per-request context, carried through async work with AsyncLocalStorage. It owns what a
// request knows about itself: its id, who the caller is once known, the auth outcome the domain
// events reported, the time spent in bcrypt and in the database (observability reads these for log
// lines, Server-Timing and slow-request warnings), and the durable work its response must wait for
// (DomainEvents adds to it, the request-scope hook waits for it). The hook in
// src/common/lifecycle/request-scope.ts opens it for every HTTP request.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
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
  /** Durable (before-response) work the response waits for. */
  readonly held: Set<Promise<void>>;
  /** Set once the response is on its way: durable work started later no longer holds it. */
  responseSent: boolean;
}

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:=+/@-]{1,128}$/;

/**
 * The request id: the caller's X-Request-Id when it is a sane token (so a proxy's or client's id
 * threads through), otherwise a fresh UUID. The charset keeps it safe to print in any log format.
 */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && ACCEPTABLE_REQUEST_ID.test(header) ? header : randomUUID();
}

const storage = new AsyncLocalStorage<RequestContext>();
/** Hooks that run outside the async context (onSend, onResponse) find a request's context here. */
const byRequest = new WeakMap<object, RequestContext>();

export function newRequestContext(requestId: string): RequestContext {
  return {
    requestId,
    startedAt: performance.now(),
    timings: { db: 0, dbQueries: 0, bcrypt: 0 },
    held: new Set(),
    responseSent: false,
  };
}

/** Attaches `context` to a framework request object, for requestContextOf(). */
export function bindRequestContext(request: object, context: RequestContext): void {
  byRequest.set(request, context);
}

export function requestContextOf(request: object): RequestContext | undefined {
  return byRequest.get(request);
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

/**
 * Runs `fn` (work that outlives the response) in a context that keeps only the current request's
 * id and caller, for its log lines. The request's own context reaches the framework request, and
 * every promise of long-running work would keep that alive until the work ends.
 */
export function runDetachedFromRequest<T>(fn: () => T): T {
  const request = storage.getStore();
  if (!request) return fn();
  const { userId, sessionId } = requestLogFields(request);
  const context = newRequestContext(request.requestId);
  context.userId = userId;
  context.sessionId = sessionId;
  context.responseSent = true;
  return storage.run(context, fn);
}

/** Runs `fn` (work that serves many requests, such as a queue's worker) outside any request's context. */
export function runOutsideRequests<T>(fn: () => T): T {
  return storage.exit(fn);
}
