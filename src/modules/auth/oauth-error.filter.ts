// RFC 6749 §5.2 error bodies for the token endpoint; everything else still answers problem+json.
import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../../common/errors/app-error';
import { toAppError } from '../../common/errors/to-app-error';
import { sendProblem } from '../../common/filters/problem-details.filter';

export type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_client';

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
  }
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
};

@Catch()
export class OAuthErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    let oauth: [OAuthErrorCode, string] | undefined;
    if (exception instanceof OAuthError) oauth = [exception.error, exception.description];
    else oauth = FROM_APP_ERROR[toAppError(exception).code];
    // Rate limits, outages and internal errors keep their HTTP status and problem body.
    if (!oauth) return sendProblem(exception, request, reply);
    void reply
      .status(oauth[0] === 'invalid_client' ? 401 : 400)
      .header('Cache-Control', 'no-store')
      .header('Pragma', 'no-cache')
      .type('application/json; charset=utf-8')
      .send({ error: oauth[0], error_description: oauth[1] });
  }
}
