// Owns the request's side of the per-request context (src/common/request-context.ts) and the one
// pass of hooks every request goes through. Installed by createApp before any other hook:
// - onRequest: opens the context (request id, timings, the caller once known), starts the
//   request's deadline (request-deadline.ts), sets the X-Request-Id header, then runs the rest of
//   the request inside the context;
// - preHandler, only on routes that take a body: re-enters the context for the handler (body
//   parsing runs outside it) and marks when the handler starts. A request without a body (GET,
//   HEAD) has nothing parsed between its first hook and its handler, so its handler starts in
//   onRequest, and its route has no preHandler pass at all (Fastify skips an empty one);
// - onSend: sends no response before the durable work its domain events started has settled (at
//   most HOLD_MAX_MS), then runs the send steps others registered (Server-Timing, Connection:
//   close while shutting down) — synchronously, without a promise, when nothing is held.
// Other parts add steps through requestScopeOf(fastify) rather than hooks of their own, so a
// request pays one hook per phase.
import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { performance } from 'node:perf_hooks';
import {
  bindRequestContext,
  currentRequestContext,
  newRequestContext,
  REQUEST_CONTEXT_PROPERTY,
  REQUEST_ID_HEADER,
  RequestContext,
  requestContextOf,
  requestIdFrom,
  runInRequestContext,
} from '../request-context';
import { armRequestDeadline, disarmRequestDeadline, remainingBeforeDeadline } from './request-deadline';
import { settleWithin } from './settle-within';

/** A response never waits longer than this for durable work (no request waits 10 s). */
export const HOLD_MAX_MS = 3000;
/** The hold ends this long before the request's deadline, so the response is out before the deadline would answer. */
const HOLD_DEADLINE_MARGIN_MS = 250;

const logger = new Logger('RequestScope');

type SendStep = (request: FastifyRequest, reply: FastifyReply, context: RequestContext) => void;
type HandlerStep = (request: FastifyRequest, context: RequestContext) => void;

/** What other parts add to the request's one pass of hooks. */
export interface RequestScope {
  /** Runs as the handler starts, inside the request's context. */
  onHandler(step: HandlerStep): void;
  /** Runs just before the response goes out, after its durable work has settled, in order. */
  beforeSend(step: SendStep): void;
}

const scopes = new WeakMap<FastifyInstance, RequestScope>();

/** The scope installRequestScope put on this Fastify instance. */
export function requestScopeOf(fastify: FastifyInstance): RequestScope | undefined {
  return scopes.get(fastify);
}

type AuthenticatedRequest = FastifyRequest & { user?: { userId?: unknown; sessionId?: unknown } };

/** The methods whose body Fastify never parses (its own list of bodyless methods). */
const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'TRACE']);

function takesBody(method: RouteOptions['method']): boolean {
  return (Array.isArray(method) ? method : [method]).some((m) => !BODYLESS_METHODS.has(m));
}

export function installRequestScope(fastify: FastifyInstance): RequestScope {
  const handlerSteps: HandlerStep[] = [];
  const sendSteps: SendStep[] = [];
  const scope: RequestScope = {
    onHandler: (step) => void handlerSteps.push(step),
    beforeSend: (step) => void sendSteps.push(step),
  };
  scopes.set(fastify, scope);
  fastify.decorateRequest(REQUEST_CONTEXT_PROPERTY, null);

  const startHandler = (request: FastifyRequest, context: RequestContext): void => {
    context.handlerStartedAt = performance.now();
    for (const step of handlerSteps) step(request, context);
  };

  fastify.addHook('onRequest', (request, reply, done) => {
    const context = newRequestContext(requestIdFrom(request.headers[REQUEST_ID_HEADER]));
    context.carrier = request as AuthenticatedRequest;
    bindRequestContext(request, context);
    armRequestDeadline(reply, context);
    void reply.header(REQUEST_ID_HEADER, context.requestId);
    if (!BODYLESS_METHODS.has(request.method)) return runInRequestContext(context, done);
    runInRequestContext(context, () => {
      startHandler(request, context);
      done();
    });
  });

  // Body parsing runs outside the context it was started in, so the handler (guards included)
  // is re-entered into it here: a preHandler on each route that takes a body, none on the others.
  const enterHandler = (request: FastifyRequest, _reply: FastifyReply, done: () => void): void => {
    const context = requestContextOf(request);
    // No context, or a bodyless request on a route that also takes bodies: started in onRequest.
    if (!context || context.handlerStartedAt !== undefined) return done();
    const enter = (): void => {
      startHandler(request, context);
      done();
    };
    // An empty body is not parsed: nothing ran outside the context, no need to enter it again.
    if (currentRequestContext() === context) enter();
    else runInRequestContext(context, enter);
  };
  fastify.addHook('onRoute', (route) => {
    if (!takesBody(route.method)) return;
    const own =
      route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [enterHandler, ...own];
  });

  const finish = (request: FastifyRequest, reply: FastifyReply, context: RequestContext): void => {
    context.handlerEndedAt ??= performance.now();
    disarmRequestDeadline(context);
    for (const step of sendSteps) step(request, reply, context);
  };

  fastify.addHook('onSend', (request, reply, payload, done) => {
    const context = requestContextOf(request);
    if (!context) return done(null, payload);
    if (context.responseSent || !context.held || context.held.size === 0) {
      context.responseSent = true;
      finish(request, reply, context);
      return done(null, payload);
    }
    context.responseSent = true;
    const hold = Math.min(HOLD_MAX_MS, remainingBeforeDeadline(context) - HOLD_DEADLINE_MARGIN_MS);
    void settleWithin(context.held, Math.max(0, hold)).then((settled) => {
      if (!settled) logger.warn(`Response sent before its durable work finished (${request.method} ${request.url})`);
      finish(request, reply, context);
      done(null, payload);
    });
  });
  return scope;
}
