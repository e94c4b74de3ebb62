// Turns anything thrown inside a request into an AppError, so that every failure has a code.
// Framework and driver errors are recognised by their shape; their text never reaches a client.
import { HttpException } from '@nestjs/common';
import { AppError, ErrorCode } from './app-error';

const DB_UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  // The server's own bounds (data-source.ts): a statement or lock wait that ran out, a transaction
  // left idle. The database is overloaded or a client hung, not the request wrong: try again.
  '57014', // query_canceled (statement_timeout)
  '55P03', // lock_not_available (lock_timeout)
  '25P03', // idle_in_transaction_session_timeout
]);

const DB_UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
  'connect ECONNREFUSED',
  // pg's query_timeout firing: the server stopped answering on an open connection (half-open link)
  'Query read timeout',
];

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = (error as { code?: unknown }).code;
  return typeof candidate === 'string' ? candidate : undefined;
}

/** True when the error means "the database is not answering", not "the query is wrong". */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = codeOf(current);
    if (code && DB_UNAVAILABLE_CODES.has(code)) return true;
    const message = current instanceof Error ? current.message : '';
    if (DB_UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return true;
    current = (current as { driverError?: unknown }).driverError ?? (current as { cause?: unknown }).cause ?? undefined;
  }
  return false;
}

/** Every error Fastify raises about a request a client sent, with what the client is told. */
const FASTIFY_CODES: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [ErrorCode.PayloadTooLarge, 'The request body is larger than 100 kB.'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [ErrorCode.UnsupportedMediaType, 'Send the body as application/json.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [ErrorCode.MalformedRequest, 'The body does not match its Content-Length.'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [ErrorCode.MalformedRequest, 'The request body could not be parsed.'],
  FST_ERR_CTP_INVALID_JSON_BODY: [ErrorCode.MalformedRequest, 'The request body could not be parsed.'],
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: [ErrorCode.MalformedRequest, 'The request has no Content-Type.'],
  FST_ERR_BAD_URL: [ErrorCode.MalformedRequest, 'The request URL is not valid (a bad percent-escape?).'],
  FST_ERR_INVALID_URL: [ErrorCode.MalformedRequest, 'The request URL is not valid.'],
  FST_ERR_MAX_PARAM_LENGTH: [ErrorCode.MalformedRequest, 'A path parameter of the request URL is too long.'],
  FST_ERR_ASYNC_CONSTRAINT: [ErrorCode.MalformedRequest, 'The request could not be routed.'],
};

const FASTIFY_MESSAGES: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.PayloadTooLarge]: 'The request body is larger than 100 kB.',
  [ErrorCode.UnsupportedMediaType]: 'Send the body as application/json.',
  [ErrorCode.MalformedRequest]: 'The request body could not be parsed.',
};

const HTTP_STATUS_CODES: Record<number, ErrorCode> = {
  400: ErrorCode.MalformedRequest,
  401: ErrorCode.Unauthorized,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  405: ErrorCode.MethodNotAllowed,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.UnsupportedMediaType,
  429: ErrorCode.RateLimited,
  503: ErrorCode.ServiceUnavailable,
};

const HTTP_MESSAGES: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.Unauthorized]: 'A valid bearer token is required.',
  [ErrorCode.Forbidden]: 'You are not allowed to do this.',
  [ErrorCode.NotFound]: 'No such resource.',
  [ErrorCode.MethodNotAllowed]: 'This method is not allowed here.',
  [ErrorCode.RateLimited]: 'Too many requests; wait and try again.',
  [ErrorCode.ServiceUnavailable]: 'The service is temporarily unavailable; try again shortly.',
};

/** How long a client is told to wait after a dependency did not answer. */
const UNAVAILABLE_RETRY_AFTER_S = 5;

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;

  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = HTTP_STATUS_CODES[status] ?? (status >= 500 ? ErrorCode.InternalError : ErrorCode.MalformedRequest);
    const message = HTTP_MESSAGES[code] ?? FASTIFY_MESSAGES[code] ?? 'The request could not be processed.';
    return new AppError(code, message, { cause: error });
  }

  const fastifyCode = codeOf(error);
  if (fastifyCode && FASTIFY_CODES[fastifyCode]) {
    const [code, message] = FASTIFY_CODES[fastifyCode];
    return new AppError(code, message, { cause: error });
  }
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const code = HTTP_STATUS_CODES[statusCode] ?? ErrorCode.MalformedRequest;
    return new AppError(code, FASTIFY_MESSAGES[code] ?? HTTP_MESSAGES[code] ?? 'The request could not be processed.', {
      cause: error,
    });
  }

  if (isDatabaseUnavailable(error)) {
    return new AppError(ErrorCode.ServiceUnavailable, 'The database is not answering; try again shortly.', {
      retryAfter: UNAVAILABLE_RETRY_AFTER_S,
      cause: error,
    });
  }

  return new AppError(ErrorCode.InternalError, 'An unexpected error occurred.', { cause: error });
}
