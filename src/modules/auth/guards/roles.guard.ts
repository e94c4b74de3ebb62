// Route-level role check, run after the global JWT guard. Roles come from the user row the JWT
// guard loaded for this request, so a demotion or a disabled account takes effect at once. An API
// key acts for an admin only with scope `admin`, and only while its owner is one.
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from '../../../common/errors/app-error';
import type { AuthContext } from '../auth-context';

export const ROLES_KEY = 'latch:roles';

@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!required || required.length === 0) return true;
    const auth = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthContext }>().user;
    if (!auth) throw new AppError(ErrorCode.Unauthorized, 'A valid bearer access token is required.');
    if (!required.some((role) => auth.roles.includes(role))) {
      throw new AppError(ErrorCode.Forbidden, 'This needs the role: ' + required.join(' or ') + '.');
    }
    if (auth.apiKey && required.includes('admin') && !auth.apiKey.scopes.includes('admin')) {
      throw new AppError(ErrorCode.Forbidden, 'This API key lacks the scope "admin".');
    }
    return true;
  }
}
