// The shape of an API key: "latch_" and 32 random bytes in base64url (256 bits, 43 characters).
// Anything else presented as a key is refused before any lookup, with the same answer as an
// unknown key.
import { randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'latch_';
const RANDOM_BYTES = 32;
const KEY = /^latch_[A-Za-z0-9_-]{43}$/;
export const API_KEY_LENGTH = API_KEY_PREFIX.length + 43;
/** How many characters of a key its `prefix` shows: "latch_" and 8 of the random part. */
const SHOWN = API_KEY_PREFIX.length + 8;
/** The keyed-hash purpose of API keys (KeyedHash). */
export const API_KEY_HASH_PURPOSE = 'api-key';

export function generateApiKey(): { key: string; prefix: string } {
  const key = API_KEY_PREFIX + randomBytes(RANDOM_BYTES).toString('base64url');
  return { key, prefix: key.slice(0, SHOWN) };
}

/** The presented header value if it has a key's shape (one header, right prefix and length, base64url). */
export function wellFormedApiKey(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length !== API_KEY_LENGTH) return undefined;
  return KEY.test(header) ? header : undefined;
}

/** Scopes as stored: `^[a-z][a-z0-9:._-]{0,63}$`, at most 20 (DTO checks); unknown ones are kept. */
export const SCOPE_PATTERN = /^[a-z][a-z0-9:._-]{0,63}$/;
export const MAX_SCOPES = 20;
