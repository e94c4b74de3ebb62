// Owns the request's side of the per-request context (src/common/request-context.ts): opens it
// when a request arrives, re-enters it for the handler, and sends no response before the durable
// work its domain events started has settled (at most HOLD_MAX_MS). Installed by createApp before
// any other hook, so everything after it runs, and is timed, inside the context. It also starts
// the request's deadline (request-deadline.ts), which the hold never outlasts.
import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import {
  bindRequestContext,
  newRequestContext,
  REQUEST_ID_HEADER,
  requestContextOf,
  requestIdFrom,
  runInRequestContext,
} from '../request-context';
import { installRequestDeadline, remainingBeforeDeadline } from './request-deadline';
import { settleWithin } from './settle-within';

/** A response never waits longer than this for durable work (no request waits 10 s). */
export const HOLD_MAX_MS = 3000;
/** The hold ends this long before the request's deadline, so the response is out before the deadline would answer. */
const HOLD_DEADLINE_MARGIN_MS = 250;

const logger = new Logger('RequestScope');

export function installRequestScope(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    const context = newRequestContext(requestIdFrom(request.headers[REQUEST_ID_HEADER]));
    bindRequestContext(request, context);
    runInRequestContext(context, done);
  });
  installRequestDeadline(fastify);

  // Body parsing runs outside the context it was started in, so the handler (guards included)
  // is re-entered into it here.
  fastify.addHook('preHandler', (request, _reply, done) => {
    const context = requestContextOf(request);
    if (!context) return done();
    runInRequestContext(context, done);
  });

  fastify.addHook('onSend', async (request, _reply, payload) => {
    const context = requestContextOf(request);
    if (context && !context.responseSent) {
      context.responseSent = true;
      const hold = Math.min(HOLD_MAX_MS, remainingBeforeDeadline(context) - HOLD_DEADLINE_MARGIN_MS);
      if (context.held.size > 0 && !(await settleWithin(context.held, Math.max(0, hold)))) {
        logger.warn(`Response sent before its durable work finished (${request.method} ${request.url})`);
      }
    }
    return payload;
  });
}
