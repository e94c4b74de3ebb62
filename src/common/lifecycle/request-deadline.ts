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
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from '../errors/app-error';
import { sendProblem } from '../filters/problem-details.filter';
import type { RequestContext } from '../request-context';

/** Time from a request's arrival to its answer, at most; a second short of the 10 s ceiling for the way back. */
export const REQUEST_DEADLINE_MS = 9000;
/** How often the requests in flight are looked at: the deadline answers at most this late. */
export const SWEEP_MS = 100;

const RETRY_AFTER_S = 5;

const logger = new Logger('RequestDeadline');

interface InFlight {
  request: FastifyRequest;
  reply: FastifyReply;
  context: RequestContext;
}

/** Requests armed and not yet seen finished by a sweep, oldest first (Set order is insertion order). */
const inFlight = new Set<InFlight>();
let sweeper: NodeJS.Timeout | undefined;

/** What is left of a request's deadline, in milliseconds (negative once it has passed). */
export function remainingBeforeDeadline(context: RequestContext): number {
  return REQUEST_DEADLINE_MS - (performance.now() - context.startedAt);
}

/** Starts the request's deadline: an answer at REQUEST_DEADLINE_MS unless the response has ended first. */
export function armRequestDeadline(request: FastifyRequest, reply: FastifyReply, context: RequestContext): void {
  inFlight.add({ request, reply, context });
  if (!sweeper) {
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
}

function sweep(): void {
  const now = performance.now();
  for (const entry of inFlight) {
    const raw = entry.reply.raw;
    if (raw.writableEnded || raw.destroyed) {
      inFlight.delete(entry);
    } else if (now - entry.context.startedAt >= REQUEST_DEADLINE_MS) {
      inFlight.delete(entry);
      answerAtDeadline(entry);
    }
  }
  if (inFlight.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

function answerAtDeadline({ request, reply, context }: InFlight): void {
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
