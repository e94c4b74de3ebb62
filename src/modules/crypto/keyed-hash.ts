// Keyed hashes (HMAC-SHA-256) of the secrets Latch only ever compares, never reads back (API keys):
// the HMAC key is derived from ENCRYPTION_KEY with HKDF, per purpose, so a copy of the table alone
// cannot even be checked offline against a guess, let alone reversed — the key never lives in the
// database. After an ENCRYPTION_KEY rotation ("new,old") digests under every listed key are offered,
// the first (current) one first, so owners can look up old rows and re-hash them.
import { createHmac, createSecretKey, hkdfSync, KeyObject, timingSafeEqual } from 'node:crypto';

export class KeyedHash {
  private readonly secrets: readonly Buffer[];
  /** Per purpose, the derived keys as KeyObjects made once: createHmac with a Buffer re-imports the
   * key on every call, about 9 µs against 1.3 µs with a KeyObject (Node 24), on every request with a key. */
  private readonly derived = new Map<string, KeyObject[]>();

  constructor(secrets: readonly Buffer[]) {
    if (secrets.length === 0) throw new Error('a keyed hash needs at least one key');
    this.secrets = secrets;
  }

  /** Hex digests of `value` for `purpose` under each configured key; the current one first. */
  digests(value: string, purpose: string): string[] {
    return this.keysFor(purpose).map((key) => createHmac('sha256', key).update(value, 'utf8').digest('hex'));
  }

  /** The hex digest of `value` for `purpose` under the current key alone. */
  digest(value: string, purpose: string): string {
    return createHmac('sha256', this.keysFor(purpose)[0]!).update(value, 'utf8').digest('hex');
  }

  /** Constant-time equality of two hex digests (false for different lengths). */
  static equal(a: string, b: string): boolean {
    const left = Buffer.from(a, 'utf8');
    const right = Buffer.from(b, 'utf8');
    return left.length === right.length && timingSafeEqual(left, right);
  }

  private keysFor(purpose: string): KeyObject[] {
    let keys = this.derived.get(purpose);
    if (!keys) {
      keys = this.secrets.map((secret) =>
        createSecretKey(Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `latch keyed-hash ${purpose}`, 32))),
      );
      this.derived.set(purpose, keys);
    }
    return keys;
  }
}
