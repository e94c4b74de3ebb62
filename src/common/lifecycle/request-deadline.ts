// The last-resort bound of the rule that no request waits more than 10 s (docs/operations.md): whatever a request is
// still doing when REQUEST_DEADLINE_MS have passed since it arrived, it is answered 503
// SERVICE_UNAVAILABLE with Retry-After, never left hanging. Every wait has its own, shorter bound
// first (pool, queries and server-side timeouts in src/database/data-source.ts, the bcrypt
// admission queue, the response hold in request-scope.ts); this catches what slips through them.
// Armed by installRequestScope's onRequest hook, so the clock starts with the request's first hook.
import { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from '../errors/app-error';
import { sendProblem } from '../filters/problem-details.filter';
import { requestContextOf, type RequestContext } from '../request-context';

/** Time from a request's arrival to its answer, at most; a second short of the 10 s ceiling for the way back. */
export const REQUEST_DEADLINE_MS = 9000;

const RETRY_AFTER_S = 5;

const logger = new Logger('RequestDeadline');

/** What is left of a request's deadline, in milliseconds (negative once it has passed). */
export function remainingBeforeDeadline(context: RequestContext): number {
  return REQUEST_DEADLINE_MS - (performance.now() - context.startedAt);
}

/** Starts the request's deadline: an answer at REQUEST_DEADLINE_MS unless the response is closed first. */
export function armRequestDeadline(request: FastifyRequest, reply: FastifyReply): void {
  const timer = setTimeout(() => answerAtDeadline(request, reply), REQUEST_DEADLINE_MS);
  timer.unref();
  reply.raw.once('close', () => clearTimeout(timer));
}

function answerAtDeadline(request: FastifyRequest, reply: FastifyReply): void {
  const context = requestContextOf(request);
  // A response already on its way (its hold is bounded by the deadline) or a stream that has
  // started (server-sent events live longer than any request) is left alone.
  if (reply.sent || reply.raw.headersSent || context?.responseSent) return;
  if (context) context.responseSent = true; // nothing more to wait for: answer now
  logger.warn(`${request.method} ${request.url} reached its ${REQUEST_DEADLINE_MS} ms deadline unanswered`);
  sendProblem(
    new AppError(ErrorCode.ServiceUnavailable, 'The request took too long; try again shortly.', {
      retryAfter: RETRY_AFTER_S,
    }),
    request,
    reply,
  );
}
