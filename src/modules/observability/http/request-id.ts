// The request id: the caller's X-Request-Id when it is a sane token (so a proxy's or client's id
// threads through), otherwise a fresh UUID. The charset keeps it safe to print in any log format.
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE = /^[A-Za-z0-9._:=+/@-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && ACCEPTABLE.test(header) ? header : randomUUID();
}
