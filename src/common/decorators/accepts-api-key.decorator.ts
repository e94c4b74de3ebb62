// Marks the few routes an API key (X-API-Key) may call, and the scope the key needs there. Every
// other protected route answers 403 to a key. Read by the JWT guard (which authenticates the key)
// and by the rate-limit guard (a key's requests count against the key's own budget).
import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiKeyApi } from '../http/openapi';

export const ACCEPTS_API_KEY = 'latch:acceptsApiKey';
/** The metadata value of a route that any key may call, whatever its scopes. */
export const ANY_API_KEY = '*';

/** Lets an API key call this route: with `scope`, only a key holding it (403 otherwise). */
export const AcceptsApiKey = (scope?: string): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ACCEPTS_API_KEY, scope ?? ANY_API_KEY), ApiKeyApi());
