// Global guard: every route needs a valid access token unless marked @Public(). The caller it
// resolves is set on request.user, where @CurrentAuth() and the roles guard read it.
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { IS_PUBLIC } from '../../../common/decorators/public.decorator';
import { AppError, ErrorCode } from '../../../common/errors/app-error';
import type { AuthContext } from '../auth-context';
import { JwtStrategy } from '../strategies/jwt.strategy';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: JwtStrategy,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthContext }>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (!token) throw new AppError(ErrorCode.Unauthorized, 'A valid bearer access token is required.');
    request.user = await this.strategy.authenticate(token);
    return true;
  }
}
