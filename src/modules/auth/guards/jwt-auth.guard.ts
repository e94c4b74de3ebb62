// Global guard: every route needs a valid access token unless marked @Public(); the routes marked
// @AcceptsApiKey also take an API key in X-API-Key instead (ApiKeyAuthenticator). The caller it
// resolves is set on request.user, where @CurrentAuth() and the roles guard read it.
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ACCEPTS_API_KEY } from '../../../common/decorators/accepts-api-key.decorator';
import { IS_PUBLIC } from '../../../common/decorators/public.decorator';
import { AppError, ErrorCode } from '../../../common/errors/app-error';
import { API_KEY_HEADER } from '../../../common/http/openapi';
import { ApiKeyAuthenticator } from '../../api-keys/api-key-authenticator';
import type { AuthContext } from '../auth-context';
import { JwtStrategy } from '../strategies/jwt.strategy';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: JwtStrategy,
    private readonly apiKeys: ApiKeyAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthContext }>();
    const header = request.headers.authorization;
    const apiKey = request.headers[API_KEY_HEADER];
    if (apiKey !== undefined) {
      if (header !== undefined) {
        throw new AppError(ErrorCode.ValidationFailed, 'Send a bearer token or an API key, not both.');
      }
      const scope = this.reflector.getAllAndOverride<string | undefined>(ACCEPTS_API_KEY, targets);
      if (scope === undefined) throw new AppError(ErrorCode.Forbidden, 'This route does not accept an API key.');
      const reply = context.switchToHttp().getResponse<FastifyReply>();
      const { user, key } = await this.apiKeys.authenticate(apiKey, scope, request, reply);
      request.user = {
        userId: user.id,
        sessionId: null,
        roles: user.roles,
        tokenExpiresAt: null,
        user,
        apiKey: { id: key.id, scopes: key.scopes, expiresAt: key.expiresAt },
      };
      return true;
    }
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (!token) throw new AppError(ErrorCode.Unauthorized, 'A valid bearer access token is required.');
    request.user = await this.strategy.authenticate(token);
    return true;
  }
}
