// The authenticated caller of a route, as the guard in front of it resolved it.
import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { UserEntity } from '../../users/user.entity';
import type { AuthContext } from '../auth-context';

/** The caller of a route behind the JWT guard, as the JWT strategy resolved it. */
export const CurrentAuth = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  return ctx.switchToHttp().getRequest<FastifyRequest & { user: AuthContext }>().user;
});

/**
 * The same caller, read from the request (`@Req()`). For the token-check routes other services call
 * on every request of theirs (/users/me, /auth/verify): a custom parameter like @CurrentAuth() goes
 * through the global ValidationPipe (a promise per parameter), the request itself through none.
 */
export function authOf(request: FastifyRequest): AuthContext {
  return (request as FastifyRequest & { user: AuthContext }).user;
}

/** The account whose password the local strategy just checked (the login route only). */
export const AuthenticatedUser = createParamDecorator((_: unknown, ctx: ExecutionContext): UserEntity => {
  return ctx.switchToHttp().getRequest<FastifyRequest & { user: UserEntity }>().user;
});
