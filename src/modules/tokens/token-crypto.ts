// Opaque tokens: 256 random bits, stored only as SHA-256 (a fast hash is enough at that entropy).
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
