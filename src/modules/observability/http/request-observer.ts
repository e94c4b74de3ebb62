// What observes every request (the id, the request context and the X-Request-Id header the rest of
// the code logs and times against are src/common/lifecycle/request-scope.ts's, whose one pass of
// hooks this adds its steps to): the Server-Timing header, the request duration histogram,
// login/refresh/register outcomes, and one log line per request (a warning with the timing
// breakdown when slower than SLOW_REQUEST_MS).
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { performance } from 'node:perf_hooks';
import type { Logger as PinoLogger } from 'pino';
import { requestScopeOf } from '../../../common/lifecycle/request-scope';
import { RequestContext, requestContextOf, runInRequestContext } from '../../../common/request-context';
import type { LatchConfig } from '../../../config/configuration';
import { AuthFlow, Metrics } from '../metrics/metrics.service';
import type { HistogramSeries } from '../metrics/series-histogram';

const QUIET_ROUTES = /^\/(health\/|metrics$)/;

export interface TimingBreakdown {
  totalMs: number;
  handlerMs?: number;
  dbMs: number;
  dbQueries: number;
  bcryptMs: number;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

export function timingBreakdown(context: RequestContext, now = performance.now()): TimingBreakdown {
  const breakdown: TimingBreakdown = {
    totalMs: totalMs(context, now),
    dbMs: round(context.timings.db),
    dbQueries: context.timings.dbQueries,
    bcryptMs: round(context.timings.bcrypt),
  };
  if (context.handlerStartedAt !== undefined) {
    breakdown.handlerMs = round((context.handlerEndedAt ?? now) - context.handlerStartedAt);
  }
  return breakdown;
}

/**
 * RFC Server-Timing as sent to clients: the total only. The breakdown (handler, database, bcrypt)
 * would tell any client how long the password check took, so it goes to the slow-request log only.
 */
export function publicServerTiming(timing: Pick<TimingBreakdown, 'totalMs'>): string {
  return `total;dur=${timing.totalMs}`;
}

/** Milliseconds since the request arrived, as every figure here is given (a tenth of a millisecond). */
function totalMs(context: RequestContext, now = performance.now()): number {
  return round(now - context.startedAt);
}

/** Which authentication flow a request is, from its route (and, for the OAuth endpoint, its grant). */
function authFlowOf(request: FastifyRequest, route: string | undefined): AuthFlow | undefined {
  if (request.method !== 'POST' || !route) return undefined;
  if (route.endsWith('/auth/login')) return 'login';
  if (route.endsWith('/auth/refresh')) return 'refresh';
  if (route.endsWith('/auth/register')) return 'register';
  if (route.endsWith('/auth/token')) {
    const grant = (request.body as Record<string, unknown> | undefined)?.grant_type;
    if (grant === 'password') return 'login';
    if (grant === 'refresh_token') return 'refresh';
  }
  return undefined;
}

/** The result of a flow whose domain events said nothing (rate limits, bad input, outages). */
function resultFromStatus(flow: AuthFlow, status: number, request: FastifyRequest): string {
  if (status < 400) return 'success';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'error';
  if (flow === 'login' && status === 401) return 'invalid_credentials';
  if (flow === 'refresh' && (status === 401 || status === 400)) {
    const body = request.body as Record<string, unknown> | undefined;
    const presented = body?.refreshToken ?? body?.refresh_token;
    if (status === 401 || (typeof presented === 'string' && presented.length > 0)) return 'invalid_token';
  }
  if (flow === 'register' && status === 409) return 'conflict';
  return 'invalid_request';
}

@Injectable()
export class RequestObserver {
  private readonly slowRequestMs: number;
  private readonly durations = new Map<string, HistogramSeries>();

  constructor(
    private readonly metrics: Metrics,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.slowRequestMs = config.get('app', { infer: true }).slowRequestMs;
  }

  /**
   * Adds its steps to the request's one pass of hooks (src/common/lifecycle/request-scope.ts) and
   * its onResponse hook; call after installRequestScope() and before the routes are registered
   * (that is, before app.init()).
   */
  install(fastify: FastifyInstance, logger: PinoLogger): void {
    const scope = requestScopeOf(fastify);
    if (!scope) throw new Error('installRequestScope() must run before RequestObserver.install()');
    if (logger.isLevelEnabled('trace')) {
      scope.onHandler((request) => {
        if (request.body !== undefined) logger.trace({ body: request.body }, 'request body');
      });
    }
    // Last among the send steps, after the response's held work (such as the audit write), so
    // that work is part of what it reports.
    scope.beforeSend((_request, reply, context) => {
      void reply.header('Server-Timing', publicServerTiming({ totalMs: totalMs(context) }));
    });

    fastify.addHook('onResponse', (request, reply, done) => {
      const context = requestContextOf(request);
      if (context) this.completed(request, reply, context, logger);
      done();
    });
  }

  private completed(request: FastifyRequest, reply: FastifyReply, context: RequestContext, logger: PinoLogger): void {
    const now = performance.now();
    const total = totalMs(context, now);
    const route = request.routeOptions?.url;
    const status = reply.statusCode;
    this.metrics.httpRequestDuration.observe(
      this.durationOf(request.method, route ?? 'unmatched', status),
      total / 1000,
    );
    const flow = authFlowOf(request, route);
    if (flow) this.metrics.recordAuthOutcome(flow, context.outcome ?? resultFromStatus(flow, status, request));

    const slow = total > this.slowRequestMs;
    const quiet = !slow && route !== undefined && QUIET_ROUTES.test(route);
    // Most requests log nothing at the usual levels: no log line is built for them.
    if (!logger.isLevelEnabled(slow ? 'warn' : quiet ? 'debug' : 'info')) return;
    const timing = timingBreakdown(context, now);
    runInRequestContext(context, () => this.log(request, route, status, timing, slow, quiet, logger));
  }

  /**
   * The duration histogram's series for one label set, kept per route so a request builds no label
   * object. Routes are templates and methods and statuses few, so the map stays small; unmatched
   * URLs share the one 'unmatched' route label.
   */
  private durationOf(method: string, route: string, status: number): HistogramSeries {
    const key = `${method} ${status} ${route}`;
    let series = this.durations.get(key);
    if (!series) {
      series = this.metrics.httpRequestDuration.seriesOf({ method, route, status_code: String(status) });
      this.durations.set(key, series);
    }
    return series;
  }

  private log(
    request: FastifyRequest,
    route: string | undefined,
    status: number,
    timing: TimingBreakdown,
    slow: boolean,
    quiet: boolean,
    logger: PinoLogger,
  ): void {
    const fields = {
      req: { method: request.method, url: request.url, route, ip: request.ip },
      res: { statusCode: status },
      responseTime: timing.totalMs,
      timing,
    };
    if (slow) {
      logger.warn(fields, `slow request: ${request.method} ${route ?? request.url} took ${timing.totalMs} ms`);
    } else if (quiet) {
      logger.debug(fields, 'request completed');
    } else {
      logger.info(fields, 'request completed');
    }
  }
}
