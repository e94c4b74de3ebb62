import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ClientInfo } from '../events/domain-events';

export function clientInfoOf(request: FastifyRequest): ClientInfo {
  const agent = request.headers['user-agent'];
  return { ip: request.ip ?? null, userAgent: typeof agent === 'string' ? agent.slice(0, 512) : null };
}

/** Client address and user agent of the request. */
export const Client = createParamDecorator((_: unknown, ctx: ExecutionContext): ClientInfo => {
  return clientInfoOf(ctx.switchToHttp().getRequest<FastifyRequest>());
});
