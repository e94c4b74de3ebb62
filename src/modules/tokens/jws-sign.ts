// Compact JWS signing (RFC 7515) with node:crypto on the key ring's KeyObjects. jose's SignJWT went
// through WebCrypto (a promise job, a key import check and a structuredClone of the claims per
// token): a third of a refresh's signing CPU. The bytes are what jose writes for the same header and
// claims (the members in the order given), so any JOSE library verifies them with the JWKS; verifying
// stays with jose (access-token.service.ts). jws-sign.spec.ts checks both against jose.
import { createHmac, KeyObject, sign } from 'node:crypto';
import type { SigningAlgorithm } from '../keys/key-material';

export interface JwsSigner {
  alg: SigningAlgorithm;
  kid?: string;
  key: KeyObject;
}

/** The base64url protected header of each signer, kept as long as the signer object lives. */
const encodedHeaders = new WeakMap<JwsSigner, string>();

function encodedHeader(signer: JwsSigner, typ: string): string {
  let header = encodedHeaders.get(signer);
  if (header === undefined) {
    const members = { alg: signer.alg, typ, ...(signer.kid ? { kid: signer.kid } : {}) };
    header = Buffer.from(JSON.stringify(members), 'utf8').toString('base64url');
    encodedHeaders.set(signer, header);
  }
  return header;
}

/**
 * The DER `SEQUENCE { INTEGER r, INTEGER s }` of a P-256 signature as the 64 bytes r || s (IEEE P1363)
 * that JWS wants. node:crypto writes P1363 itself given `{ key, dsaEncoding }`, but an options object
 * instead of the KeyObject doubled the cost of the call (50 µs against 23).
 */
export function p1363FromDer(der: Buffer): Buffer {
  const out = Buffer.alloc(64);
  // A P-256 signature is at most 72 bytes: the SEQUENCE's length fits in its one length byte.
  let at = 2;
  for (const offset of [0, 32]) {
    if (der[at] !== 0x02) throw new Error('not a DER ECDSA signature');
    const length = der[at + 1]!;
    let start = at + 2;
    let size = length;
    // An INTEGER whose high bit is set carries a leading 0x00; a small one is shorter than 32 bytes.
    while (size > 32) {
      start++;
      size--;
    }
    der.copy(out, offset + 32 - size, start, start + size);
    at += 2 + length;
  }
  return out;
}

function signature(signer: JwsSigner, input: string): Buffer {
  switch (signer.alg) {
    case 'ES256':
      return p1363FromDer(sign('sha256', Buffer.from(input, 'ascii'), signer.key));
    case 'EdDSA':
      return sign(null, Buffer.from(input, 'ascii'), signer.key);
    case 'RS256':
      return sign('sha256', Buffer.from(input, 'ascii'), signer.key);
    case 'HS256':
      return createHmac('sha256', signer.key).update(input, 'ascii').digest();
  }
}

/**
 * `header.payload.signature` for these claims. `typ` must be the same for every call with one signer
 * (its encoded header is kept); Latch signs access tokens only.
 */
export function signCompactJws(signer: JwsSigner, typ: string, claims: Record<string, unknown>): string {
  const input = `${encodedHeader(signer, typ)}.${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`;
  return `${input}.${signature(signer, input).toString('base64url')}`;
}
