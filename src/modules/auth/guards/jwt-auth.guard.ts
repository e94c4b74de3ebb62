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
import { ApiKeyAuthenticator, type ApiKeyCaller } from '../../api-keys/api-key-authenticator';
import type { AuthContext } from '../auth-context';
import { JwtStrategy } from '../strategies/jwt.strategy';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** What a route says about authentication, read from its decorators once. */
interface RouteAuth {
  isPublic: boolean;
  /** The scope an API key needs here; undefined: the route takes no API key. */
  apiKeyScope: string | undefined;
}

@Injectable()
export class JwtAuthGuard implements CanActivate {
  /** By controller class, then handler: a handler inherited by two controllers may differ per class. */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteAuth>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: JwtStrategy,
    private readonly apiKeys: ApiKeyAuthenticator,
  ) {}

  // Not async: a public route, or a token whose checks are all in memory, passes without a promise.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const route = this.routeAuth(context);
    if (route.isPublic) return true;
    // The request is the handler's first argument; switchToHttp() would build a new host for it each time.
    const request = context.getArgByIndex<FastifyRequest & { user?: AuthContext }>(0);
    const header = request.headers.authorization;
    const apiKey = request.headers[API_KEY_HEADER];
    if (apiKey !== undefined) {
      if (header !== undefined) {
        throw new AppError(ErrorCode.ValidationFailed, 'Send a bearer token or an API key, not both.');
      }
      if (route.apiKeyScope === undefined) {
        throw new AppError(ErrorCode.Forbidden, 'This route does not accept an API key.');
      }
      return this.withApiKey(context, request, apiKey, route.apiKeyScope);
    }
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (!token) throw new AppError(ErrorCode.Unauthorized, 'A valid bearer access token is required.');
    const auth = this.strategy.authenticate(token);
    if (!(auth instanceof Promise)) {
      request.user = auth;
      return true;
    }
    return auth.then((resolved) => {
      request.user = resolved;
      return true;
    });
  }

  private withApiKey(
    context: ExecutionContext,
    request: FastifyRequest & { user?: AuthContext },
    apiKey: string | string[],
    scope: string,
  ): boolean | Promise<boolean> {
    const reply = context.getArgByIndex<FastifyReply>(1);
    const attach = ({ user, key }: ApiKeyCaller): boolean => {
      request.user = {
        userId: user.id,
        sessionId: null,
        roles: user.roles,
        tokenExpiresAt: null,
        user,
        apiKey: { id: key.id, scopes: key.scopes, expiresAt: key.expiresAt },
      };
      return true;
    };
    const caller = this.apiKeys.authenticate(apiKey, scope, request, reply);
    return caller instanceof Promise ? caller.then(attach) : attach(caller);
  }

  /** Decorators are fixed once the app is built, so each handler's are read once. */
  private routeAuth(context: ExecutionContext): RouteAuth {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.routes.get(controller);
    if (!byHandler) this.routes.set(controller, (byHandler = new WeakMap()));
    let route = byHandler.get(handler);
    if (!route) {
      const targets = [handler, controller];
      route = {
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
        apiKeyScope: this.reflector.getAllAndOverride<string | undefined>(ACCEPTS_API_KEY, targets),
      };
      byHandler.set(handler, route);
    }
    return route;
  }
}
