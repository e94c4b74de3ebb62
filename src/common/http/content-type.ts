// Which body media types a route accepts: JSON everywhere, form encoding only where a route says so
// (the OAuth token endpoint). A body of another type is 415 UNSUPPORTED_MEDIA_TYPE.
import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from '../errors/app-error';

const FORM_BODY = 'latch:formBody';
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The route takes application/x-www-form-urlencoded instead of JSON. */
export const FormBody = (): MethodDecorator => SetMetadata(FORM_BODY, true);

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

@Injectable()
export class ContentTypeGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.getArgByIndex<FastifyRequest>(0); // as switchToHttp().getRequest(), without a new host
    if (!hasBody(request)) return true;
    const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const expected = this.reflector.get<boolean>(FORM_BODY, context.getHandler()) ? FORM_TYPE : JSON_TYPE;
    if (type !== expected) {
      throw new AppError(ErrorCode.UnsupportedMediaType, `Send the body as ${expected}.`);
    }
    return true;
  }
}
