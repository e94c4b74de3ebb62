// The one per-request context, carried through async work with AsyncLocalStorage. It owns what a
// request knows about itself: its id, who the caller is once known, the auth outcome the domain
// events reported, the time spent in bcrypt and in the database (observability reads these for log
// lines, Server-Timing and slow-request warnings), and the durable work its response must wait for
// (DomainEvents adds to it, the request-scope hook waits for it). The hook in
// src/common/lifecycle/request-scope.ts opens it for every HTTP request.
import { Logger } from '@nestjs/common';
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
  /** The framework request, where the JWT guard attaches the caller as `user` (read lazily, for logs). */
  carrier?: { user?: { userId?: unknown; sessionId?: unknown } };
  /** Result label an auth domain event reported for this request (login, refresh, register). */
  outcome?: string;
  readonly timings: RequestTimings;
  /** Durable (before-response) work the response waits for; made by the first holdResponse(). */
  held?: Set<Promise<void>>;
  /** Where the request's deadline watches it (request-deadline.ts); undefined once its response is out. */
  deadlineSlot?: number;
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
const logger = new Logger('RequestContext');
/**
 * Hooks that run outside the async context (onSend, onResponse) find a request's context on the
 * request object under this key: a property the framework declares on every request from the start
 * (request-scope.ts decorates Fastify's requests with it), so setting it changes no object's shape.
 */
export const REQUEST_CONTEXT_PROPERTY = Symbol('latch.requestContext');
const CONTEXT = REQUEST_CONTEXT_PROPERTY;

export function newRequestContext(requestId: string): RequestContext {
  return {
    requestId,
    startedAt: performance.now(),
    timings: { db: 0, dbQueries: 0, bcrypt: 0 },
    carrier: undefined,
    deadlineSlot: undefined,
    responseSent: false,
  };
}

/** Attaches `context` to a framework request object, for requestContextOf(). */
export function bindRequestContext(request: object, context: RequestContext): void {
  (request as { [CONTEXT]?: RequestContext })[CONTEXT] = context;
}

export function requestContextOf(request: object): RequestContext | undefined {
  return (request as { [CONTEXT]?: RequestContext })[CONTEXT];
}

/** Makes the request's response wait for `work` (bounded by the request scope), unless it is already on its way. */
export function holdResponse(context: RequestContext, work: Promise<void>): void {
  if (!context.responseSent) (context.held ??= new Set()).add(work);
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
  const auth = context.carrier?.user;
  const userId = context.userId ?? (typeof auth?.userId === 'string' ? auth.userId : undefined);
  const sessionId = context.sessionId ?? (typeof auth?.sessionId === 'string' ? auth.sessionId : undefined);
  if (userId) fields.userId = userId;
  if (sessionId) fields.sessionId = sessionId;
  return fields;
}

/**
 * Lets the current request's response wait for `work`, as it waits for durable listeners, instead
 * of the caller, so the work runs beside what the request does next; a failure is logged with
 * `label`. With no response left to hold (no request, or it is on its way), returns `work` itself
 * for the caller to await.
 */
export function holdResponseFor(label: string, work: Promise<void>): Promise<void> {
  const context = storage.getStore();
  if (!context || context.responseSent) return work;
  holdResponse(
    context,
    work.catch((error: unknown) => logger.error(`${label} failed: ${String(error)}`)),
  );
  return Promise.resolve();
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
