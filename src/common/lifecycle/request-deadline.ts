// The last-resort bound of the rule that no request waits more than 10 s (docs/operations.md): whatever a request is
// still doing when REQUEST_DEADLINE_MS have passed since it arrived, it is answered 503
// SERVICE_UNAVAILABLE with Retry-After, never left hanging. Every wait has its own, shorter bound
// first (pool, queries and server-side timeouts in src/database/data-source.ts, the bcrypt
// admission queue, the response hold in request-scope.ts); this catches what slips through them.
// Armed by installRequestScope's onRequest hook, so the clock starts with the request's first hook.
// One sweep every SWEEP_MS looks at the requests in flight, instead of a timer and a 'close'
// listener per request: the deadline is kept to within SWEEP_MS at a fraction of the cost.
import { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { FastifyReply } from 'fastify';
import { AppError, ErrorCode } from '../errors/app-error';
import { sendProblem } from '../filters/problem-details.filter';
import { requestContextOf, type RequestContext } from '../request-context';

/** Time from a request's arrival to its answer, at most; a second short of the 10 s ceiling for the way back. */
export const REQUEST_DEADLINE_MS = 9000;
/** How often the requests in flight are looked at: the deadline answers at most this late. */
export const SWEEP_MS = 100;

const RETRY_AFTER_S = 5;

const logger = new Logger('RequestDeadline');

/**
 * Replies armed, oldest first. A reply whose response goes out is cleared from its slot at once
 * (disarmRequestDeadline), so the list never keeps a finished request alive (and in the young
 * generation's survivors) until the next sweep; a sweep drops the cleared slots.
 */
let inFlight: (FastifyReply | undefined)[] = [];
/** The armed replies in that list (it also holds cleared slots until the next sweep). */
let open = 0;
let sweeper: NodeJS.Timeout | undefined;

/**
 * Requests that have arrived and are not answered yet; one still open at its deadline is answered
 * then and no longer counted. The idle collector waits for none (src/common/memory/idle-collector.ts).
 */
export function requestsInFlight(): number {
  return open;
}

/** What is left of a request's deadline, in milliseconds (negative once it has passed). */
export function remainingBeforeDeadline(context: RequestContext): number {
  return REQUEST_DEADLINE_MS - (performance.now() - context.startedAt);
}

/** Starts the request's deadline: an answer at REQUEST_DEADLINE_MS unless its response goes out first. */
export function armRequestDeadline(reply: FastifyReply, context: RequestContext): void {
  context.deadlineSlot = inFlight.push(reply) - 1;
  open += 1;
  if (!sweeper) {
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
}

/** The response is on its way: the deadline has nothing left to answer. */
export function disarmRequestDeadline(context: RequestContext): void {
  if (context.deadlineSlot === undefined) return;
  inFlight[context.deadlineSlot] = undefined;
  context.deadlineSlot = undefined;
  open -= 1;
}

function sweep(): void {
  const now = performance.now();
  const stillOpen: FastifyReply[] = [];
  for (const reply of inFlight) {
    if (!reply) continue;
    const context = requestContextOf(reply.request);
    const raw = reply.raw;
    if (!context || raw.writableEnded || raw.destroyed) {
      if (context) context.deadlineSlot = undefined;
    } else if (now - context.startedAt >= REQUEST_DEADLINE_MS) {
      context.deadlineSlot = undefined;
      answerAtDeadline(reply, context);
    } else {
      context.deadlineSlot = stillOpen.push(reply) - 1;
    }
  }
  inFlight = stillOpen;
  open = stillOpen.length;
  if (inFlight.length === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

function answerAtDeadline(reply: FastifyReply, context: RequestContext): void {
  const request = reply.request;
  // A response already on its way (its hold is bounded by the deadline) or a stream that has
  // started (server-sent events live longer than any request) is left alone.
  if (reply.sent || reply.raw.headersSent || context.responseSent) return;
  context.responseSent = true; // nothing more to wait for: answer now
  logger.warn(`${request.method} ${request.url} reached its ${REQUEST_DEADLINE_MS} ms deadline unanswered`);
  sendProblem(
    new AppError(ErrorCode.ServiceUnavailable, 'The request took too long; try again shortly.', {
      retryAfter: RETRY_AFTER_S,
    }),
    request,
    reply,
  );
}
