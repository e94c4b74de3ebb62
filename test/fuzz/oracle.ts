// What every answer must satisfy, whatever was asked (DESIGN.md, "HTTP contract"): no 5xx but a 503
// with Retry-After; every 4xx a problem+json with a contract code (or an RFC 6749 §5.2 error on the
// token endpoint); nothing internal or secret in any body.
import type { ResolvedRequest } from './world';
import type { WireResponse } from './wire';

/** The codes DESIGN.md lists; the catalog's others (e.g. INTERNAL_ERROR) must never reach a client. */
export const CONTRACT_CODES = new Set([
  'VALIDATION_FAILED',
  'MALFORMED_REQUEST',
  'INVALID_CREDENTIALS',
  'UNAUTHORIZED',
  'INVALID_REFRESH_TOKEN',
  'INVALID_TOKEN',
  'ACCOUNT_PENDING_APPROVAL',
  'ACCOUNT_DISABLED',
  'EMAIL_NOT_VERIFIED',
  'FORBIDDEN',
  'NOT_FOUND',
  'INVALID_MFA_CODE',
  'EMAIL_TAKEN',
  'USERNAME_TAKEN',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
]);

/** RFC 6749 §5.2. */
const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
]);

const LEAKS: [string, RegExp][] = [
  ['a stack frame', /\bat (?:async )?[\w$.<>[\] ]+ \(?[^()\s]*:\d+:\d+\)?/],
  ['a source location', /\.(?:ts|js|cjs|mjs):\d+/],
  ['a file path', /\/work\/|node_modules|\/home\/|\/usr\/(?:src|lib)\//],
  ['SQL', /\b(?:SELECT|INSERT|UPDATE|DELETE)\b[^"]{0,200}\b(?:FROM|INTO|SET|WHERE)\b/],
  [
    'a database error',
    /syntax error at or near|violates (?:unique|foreign key|check|not-null) constraint|duplicate key value|invalid input syntax|invalid byte sequence|QueryFailedError|relation "\w+"/i,
  ],
  ['a Fastify error code', /FST_[A-Z_]+/],
];

function parse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The answer's text with every string the request carried cut out, so echoes of our own input do not count. */
function withoutEchoes(text: string, sent: string[]): string {
  let out = text;
  for (const s of [...sent].sort((a, b) => b.length - a.length)) {
    if (s.length < 3) continue;
    for (const form of [s, JSON.stringify(s).slice(1, -1)]) out = out.split(form).join('');
  }
  return out;
}

/** Passwords worth looking for: long or not a plain word (so "password" the field name is no echo). */
function significant(password: string): boolean {
  return password.length >= 16 || (password.length >= 8 && /[^A-Za-z]/.test(password));
}

export interface OracleContext {
  tokenEndpoint: boolean;
  secrets: string[];
}

/** What is wrong with this answer, or an empty list. */
export function judge(request: ResolvedRequest, response: WireResponse, context: OracleContext): string[] {
  const problems: string[] = [];
  const { status, headers, text } = response;
  const type = headers['content-type'] ?? '';

  if (status >= 500) {
    if (status !== 503) problems.push(`answered ${status}`);
    else if (!headers['retry-after']) problems.push('answered 503 without Retry-After');
  }

  if (status >= 400 && status < 500) {
    const body = parse(text);
    const oauth =
      context.tokenEndpoint &&
      /^application\/json\b/.test(type) &&
      OAUTH_ERRORS.has(body?.error) &&
      typeof body?.error_description === 'string';
    if (!oauth) {
      if (!/^application\/problem\+json\b/.test(type)) problems.push(`a ${status} as ${type || 'no content type'}`);
      if (!body || !CONTRACT_CODES.has(body.code)) problems.push(`a ${status} with code ${JSON.stringify(body?.code)}`);
      else {
        if (body.status !== status) problems.push(`a ${status} whose problem says status ${body.status}`);
        for (const key of ['type', 'title', 'detail']) {
          if (typeof body[key] !== 'string') problems.push(`a problem without a string ${key}`);
        }
      }
    }
    if (status === 429 && !headers['retry-after']) problems.push('a 429 without Retry-After');
  }

  const foreign = withoutEchoes(text, [...request.sentStrings, ...request.passwords]);
  for (const [what, pattern] of LEAKS) {
    const match = pattern.exec(foreign);
    if (match) problems.push(`the body shows ${what}: ${JSON.stringify(match[0].slice(0, 120))}`);
  }
  for (const secret of context.secrets) if (text.includes(secret)) problems.push('the body shows the JWT secret');
  const echoedElsewhere = new Set(request.sentStrings);
  for (const password of request.passwords) {
    if (!significant(password) || echoedElsewhere.has(password)) continue;
    if (text.includes(password) || text.includes(JSON.stringify(password).slice(1, -1))) {
      problems.push('the body shows a password the request sent');
    }
  }
  return problems;
}
