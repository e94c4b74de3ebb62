// Keeps secrets out of logs. Every log line goes through redactValue (structured fields: request
// bodies, headers, errors and their causes) and every message or stack through redactText (free
// text, where a token may have been interpolated). Over-redacting a harmless field is the price
// of never printing a password, a token, a cookie or an Authorization header.

export const REDACTED = '[REDACTED]';

/** Field names whose values are secret wherever they appear, at any depth. */
const SECRET_KEY =
  /pass(word|wd|phrase)?|secret|token|authori[sz]ation|cookie|credential|api[-_]?key|private[-_]?key|signature|hash|^parameters$|^otp$/i;

const MAX_DEPTH = 8;

const TEXT_RULES: [RegExp, string][] = [
  // JSON Web Tokens (access tokens, and anything else shaped like one)
  [/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // API keys (latch_ and base64url), wherever one was interpolated (the X-API-Key header field is
  // caught by SECRET_KEY); an upper-case letter or a digit tells one from a metric's name
  [/\blatch_(?=[\w-]*[A-Z0-9])[A-Za-z0-9_-]{20,}/g, REDACTED],
  // Authorization header values
  [/\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  // key=value pairs in query strings, form bodies and cookies
  [/\b([\w.-]*(?:pass(?:word|wd)?|token|secret|session|sid)[\w.-]*)=([^&\s;,"'\\]+)/gi, `$1=${REDACTED}`],
  // "key": "value" in serialised JSON
  [
    /("[\w.-]*(?:pass(?:word|wd)?|token|secret|authorization|cookie)[\w.-]*"\s*:\s*)"(?:[^"\\]|\\.)*"/gi,
    `$1"${REDACTED}"`,
  ],
  // credentials inside URLs (postgres://user:password@host, smtp://user:password@host)
  [/\b([a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^@\s/]+@/gi, `$1${REDACTED}@`],
];

export function redactText(text: string): string {
  let result = text;
  for (const [pattern, replacement] of TEXT_RULES) result = result.replace(pattern, replacement);
  return result;
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A deep copy with secret fields replaced and free text scrubbed; errors become plain objects. */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Object]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, seen));
  if (value instanceof Error) return redactError(value, depth, seen);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isSecretKey(key) && item !== null && item !== undefined ? REDACTED : redactValue(item, depth + 1, seen);
  }
  return out;
}

function redactError(error: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: error.name,
    message: redactText(error.message),
  };
  if (error.stack) out.stack = redactText(error.stack);
  for (const [key, item] of Object.entries(error)) {
    if (key === 'message' || key === 'stack') continue;
    out[key] = isSecretKey(key) ? REDACTED : redactValue(item, depth + 1, seen);
  }
  if (error.cause !== undefined) out.cause = redactValue(error.cause, depth + 1, seen);
  return out;
}
