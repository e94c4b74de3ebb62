// Opaque tokens: 256 random bits, stored only as SHA-256 (a fast hash is enough at that entropy).
// A refresh token also names its session and user (refreshTokenClaimant), so a refresh can sign the
// new pair before the one statement that rotates the session and keeps that pair; the 256 random
// bits are what proves it, through the stored hash, as before.
// The grace-window pair is sealed with AES-256-GCM under a key derived from the replaced token,
// so the stored ciphertext is useless to anyone who does not hold that token.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  hkdfSync,
  KeyObject,
  randomBytes,
} from 'node:crypto';

export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

const UUID_BYTES = 16;
const RANDOM_BYTES = 32;
/** base64url of session id, user id and the random part (64 bytes). */
const REFRESH_TOKEN_LENGTH = Math.ceil(((2 * UUID_BYTES + RANDOM_BYTES) * 4) / 3);
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function uuidOf(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A refresh token of the session: its id and its user's, then 256 random bits. */
export function newRefreshToken(sessionId: string, userId: string): string {
  return Buffer.concat([uuidBytes(sessionId), uuidBytes(userId), randomBytes(RANDOM_BYTES)]).toString('base64url');
}

/**
 * The session and user a refresh token names, unverified: only the stored hash proves the token,
 * so this is a guess to prepare with. Undefined for anything else, such as the 43-character
 * tokens issued before they named their session.
 */
export function refreshTokenClaimant(token: string): { sessionId: string; userId: string } | undefined {
  if (token.length !== REFRESH_TOKEN_LENGTH || !BASE64URL.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  return {
    sessionId: uuidOf(bytes.subarray(0, UUID_BYTES)),
    userId: uuidOf(bytes.subarray(UUID_BYTES, 2 * UUID_BYTES)),
  };
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

// KeyObjects in and out: given Buffers, hkdfSync and createCipheriv each import the key into a
// KeyObject of their own first, which cost more than the derivation and the encryption together.
function graceKey(oldToken: string, sessionId: string): KeyObject {
  const ikm = createSecretKey(Buffer.from(oldToken, 'utf8'));
  return createSecretKey(new Uint8Array(hkdfSync('sha256', ikm, 'latch/refresh-grace/v1', sessionId, 32)));
}

export function sealForGrace(payload: object, oldToken: string, sessionId: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', graceKey(oldToken, sessionId), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export function openFromGrace<T>(sealed: Buffer, oldToken: string, sessionId: string): T | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', graceKey(oldToken, sessionId), sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(12, 28));
    const body = Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    return null;
  }
}
