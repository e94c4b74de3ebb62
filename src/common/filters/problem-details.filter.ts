// The one place that turns errors into HTTP: RFC 9457 problem details with a stable code.
import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from '../errors/app-error';
import { ERROR_CATALOG, problemType } from '../errors/error-catalog';
import { toAppError } from '../errors/to-app-error';
import { sendOAuthError, usesOAuthErrors } from './oauth-error';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: { field: string; message: string }[];
}

export function problemFor(error: AppError): ProblemDetails {
  const { status, title } = ERROR_CATALOG[error.code];
  const problem: ProblemDetails = {
    type: problemType(error.code),
    title,
    status,
    detail: error.message,
    code: error.code,
  };
  if (error.errors?.length) problem.errors = error.errors;
  return problem;
}

const logger = new Logger('ProblemDetails');

const BEARER_CHALLENGE = 'Bearer realm="latch"';
/** Not a registered scheme (RFC 9110 §11.6.1 lets a server name its own); `header` says where the key goes. */
const API_KEY_CHALLENGE = 'ApiKey realm="latch", header="X-API-Key"';

/**
 * The WWW-Authenticate of a 401. A refused API key gets its own scheme first, then Bearer's: every
 * route that takes a key takes a bearer token too, and a 401 lists the challenges that apply to the
 * resource (RFC 9110 §11.6.1). Neither carries error="invalid_token", which tells a client to refresh
 * a token it never sent. A refused bearer token carries it (RFC 6750 §3.1; clients refresh on it).
 */
function challenge(error: AppError, request: FastifyRequest): string {
  if (error.credential === 'api_key') return `${API_KEY_CHALLENGE}, ${BEARER_CHALLENGE}`;
  return request.headers.authorization ? `${BEARER_CHALLENGE}, error="invalid_token"` : BEARER_CHALLENGE;
}

/** Writes the problem response; shared by the Nest filter and Fastify's own error handler. */
export function sendProblem(thrown: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const error = toAppError(thrown);
  const problem = problemFor(error);
  if (problem.status >= 500 && error.code !== ErrorCode.ServiceUnavailable) {
    logger.error(
      `${request.method} ${request.routeOptions?.url ?? request.url} failed`,
      error.cause instanceof Error ? error.cause.stack : String(error.cause),
    );
  } else if (error.code === ErrorCode.ServiceUnavailable && error.cause) {
    logger.warn(
      `${request.method} ${request.url} answered 503: ${String((error.cause as Error).message ?? error.cause)}`,
    );
  }
  if (error.retryAfter !== undefined)
    void reply.header('Retry-After', String(Math.max(1, Math.ceil(error.retryAfter))));
  if (error.code === ErrorCode.Unauthorized) void reply.header('WWW-Authenticate', challenge(error, request));
  if (reply.sent) return;
  void reply.status(problem.status).type('application/problem+json; charset=utf-8').send(problem);
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    // Body parser errors on an OAuth route reach this global filter, not the route's own.
    if (usesOAuthErrors(request)) return sendOAuthError(exception, request, http.getResponse<FastifyReply>());
    sendProblem(exception, request, http.getResponse<FastifyReply>());
  }
}
