// Encryption of the secrets Latch stores and must read back (a mail's one-time token while it waits,
// later managed signing keys and TOTP secrets), with the keys of ENCRYPTION_KEY, which never live in
// the database. AES-256-GCM: a sealed value is "v1.<key id>.<base64url(iv | ciphertext | tag)>", so
// after a rotation ("new,old") values sealed under an old key still open, and new ones use the first.
// The caller's context (a table, a row, a purpose) is bound as associated data: a value copied into
// another row, or another column, does not open there.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** ENCRYPTION_KEY entries are at least this many bytes once base64-decoded. */
export const MIN_KEY_BYTES = 32;

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

interface BoxKey {
  id: string;
  aes: Buffer;
}

function derive(secret: Buffer, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `latch secret-box ${info}`, length));
}

function boxKey(secret: Buffer): BoxKey {
  // Separate derivations: the published id says nothing about the encryption key.
  return {
    id: derive(secret, 'key id', 6).toString('base64url'),
    aes: derive(secret, 'aes-256-gcm', 32),
  };
}

export class SecretBox {
  private readonly keys: BoxKey[];

  /** `secrets`: the raw keys, the first encrypts, every one decrypts. */
  constructor(secrets: readonly Buffer[]) {
    if (secrets.length === 0) throw new SecretBoxError('a secret box needs at least one key');
    for (const secret of secrets) {
      if (secret.length < MIN_KEY_BYTES) throw new SecretBoxError(`keys must be at least ${MIN_KEY_BYTES} bytes`);
    }
    this.keys = secrets.map(boxKey);
  }

  /** Encrypts `plaintext` under the current key, bound to `context` (e.g. "mail_outbox.secret:<id>"). */
  seal(plaintext: string, context: string): string {
    const key = this.keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.aes, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(key.id, context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${key.id}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** Decrypts a value seal() made with any configured key and the same context; throws otherwise. */
  open(sealed: string, context: string): string {
    const [version, keyId, payload, extra] = sealed.split('.');
    if (version !== VERSION || !keyId || !payload || extra !== undefined) {
      throw new SecretBoxError('not a sealed value');
    }
    const key = this.keys.find((k) => k.id === keyId);
    if (!key) throw new SecretBoxError(`sealed under key ${keyId}, which ENCRYPTION_KEY no longer lists`);
    const bytes = Buffer.from(payload, 'base64url');
    if (bytes.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('not a sealed value');
    const decipher = createDecipheriv('aes-256-gcm', key.aes, bytes.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad(key.id, context));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretBoxError('the sealed value does not open (altered, or sealed for another context)');
    }
  }

  /** True when `sealed` was not made with the current key: re-seal it to retire the old key. */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.keys[0]!.id;
  }
}

function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${VERSION}.${keyId}\0${context}`, 'utf8');
}
