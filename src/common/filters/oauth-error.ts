// RFC 6749 §5.2 error bodies `{ error, error_description }`, for the routes that answer in OAuth's
// shape (the token endpoint) rather than problem+json. Routes opt in with `@RouteConfig(OAUTH_ERRORS)`,
// so that errors raised before the route's own filter runs (body parser, media type, size) are
// written in the same shape by the global filter.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../errors/app-error';
import { toAppError } from '../errors/to-app-error';
import { sendProblem } from './problem-details.filter';

export type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_client';

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
  }
}

/** Fastify route config marking a route whose errors follow RFC 6749 §5.2. */
export const OAUTH_ERRORS = { oauthErrors: true } as const;

export function usesOAuthErrors(request: FastifyRequest): boolean {
  const config = request.routeOptions?.config as { oauthErrors?: unknown } | undefined;
  return config?.oauthErrors === true;
}

const FROM_APP_ERROR: Partial<Record<ErrorCode, [OAuthErrorCode, string]>> = {
  [ErrorCode.InvalidCredentials]: ['invalid_grant', 'The username or password is incorrect.'],
  [ErrorCode.InvalidRefreshToken]: ['invalid_grant', 'The refresh token is invalid, expired or revoked.'],
  [ErrorCode.AccountPendingApproval]: ['invalid_grant', 'This account is waiting for approval.'],
  [ErrorCode.AccountDisabled]: ['invalid_grant', 'This account is disabled.'],
  [ErrorCode.EmailNotVerified]: ['invalid_grant', 'Verify your e-mail address before signing in.'],
  [ErrorCode.ValidationFailed]: ['invalid_request', 'The request is missing a parameter or has an invalid one.'],
  [ErrorCode.MalformedRequest]: ['invalid_request', 'The request body could not be parsed.'],
  [ErrorCode.UnsupportedMediaType]: ['invalid_request', 'Send the parameters as application/x-www-form-urlencoded.'],
  [ErrorCode.PayloadTooLarge]: ['invalid_request', 'The request body is larger than 100 kB.'],
};

/** Writes an RFC 6749 error; rate limits, outages and internal errors keep their status and problem body. */
export function sendOAuthError(exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
  let oauth: [OAuthErrorCode, string] | undefined;
  if (exception instanceof OAuthError) oauth = [exception.error, exception.description];
  else oauth = FROM_APP_ERROR[toAppError(exception).code];
  if (!oauth) return sendProblem(exception, request, reply);
  if (reply.sent) return;
  void reply
    .status(oauth[0] === 'invalid_client' ? 401 : 400)
    .header('Cache-Control', 'no-store')
    .header('Pragma', 'no-cache')
    .type('application/json; charset=utf-8')
    .send({ error: oauth[0], error_description: oauth[1] });
}
