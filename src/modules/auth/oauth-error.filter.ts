// RFC 6749 §5.2 error bodies for the token endpoint; everything else still answers problem+json.
// The shape itself lives in common/filters/oauth-error.ts, shared with the global filter for
// errors raised before this one runs.
import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendOAuthError } from '../../common/filters/oauth-error';

export { OAuthError, type OAuthErrorCode } from '../../common/filters/oauth-error';

@Catch()
export class OAuthErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendOAuthError(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }
}
