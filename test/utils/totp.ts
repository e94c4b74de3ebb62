// An independent TOTP (RFC 6238) for tests, over node:crypto only, so that the tests do not check
// the service's library against itself. Checked against the RFC's SHA-1 test vectors in totp.spec.ts.
import { createHmac } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/=+$/, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** HOTP (RFC 4226) with HMAC-SHA-1 at `counter`, `digits` long. */
export function hotp(key: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(binary).padStart(digits, '0');
}

/** The code for unix time `seconds` (30-second steps). */
export function totpAt(key: Buffer, seconds: number, digits = 6): string {
  return hotp(key, Math.floor(seconds / 30), digits);
}

/** The code of the base32 secret at `stepOffset` steps from now. */
export function totpNow(secretBase32: string, stepOffset = 0): string {
  return totpAt(base32Decode(secretBase32), Date.now() / 1000 + stepOffset * 30);
}
