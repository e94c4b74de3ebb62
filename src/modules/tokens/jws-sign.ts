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

function signature(signer: JwsSigner, input: string): Buffer {
  switch (signer.alg) {
    case 'ES256':
      // JWS wants r || s (IEEE P1363), not the DER that node:crypto writes by default.
      return sign('sha256', Buffer.from(input, 'ascii'), { key: signer.key, dsaEncoding: 'ieee-p1363' });
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
