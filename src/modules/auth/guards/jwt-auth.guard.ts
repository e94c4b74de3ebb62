// Global guard: every route needs a valid access token unless marked @Public().
import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC } from '../../../common/decorators/public.decorator';
import { AppError, ErrorCode } from '../../../common/errors/app-error';

@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    return super.canActivate(context);
  }

  override handleRequest<T>(error: unknown, user: T | false): T {
    if (error instanceof AppError) throw error;
    if (error || !user) {
      if (error && !(error instanceof Error && error.name === 'UnauthorizedException')) throw error;
      throw new AppError(ErrorCode.Unauthorized, 'A valid bearer access token is required.');
    }
    return user;
  }
}
