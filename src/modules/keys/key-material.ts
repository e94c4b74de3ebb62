// Key objects for access-token signing, made once per key (never parsed per request): generation of
// managed keys, import of operator JWKs, and the public JWK the JWKS publishes (no private field).
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';

export type AsymmetricAlgorithm = 'ES256' | 'EdDSA' | 'RS256';
export type SigningAlgorithm = AsymmetricAlgorithm | 'HS256';

/** The public members a JWKS entry carries; nothing else (never `d`, `p`, `q`, …) is copied. */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

export interface PublicJwk {
  kid: string;
  kty: string;
  alg: string;
  use: 'sig';
  [member: string]: string;
}

export interface SigningKey {
  kid: string;
  alg: AsymmetricAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: PublicJwk;
}

/** The key type each algorithm pins: a key of another type is never used with it. */
function matches(alg: AsymmetricAlgorithm, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  if (alg === 'ES256') return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  if (alg === 'EdDSA') return type === 'ed25519';
  return type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
}

export function publicJwkOf(publicKey: KeyObject, kid: string, alg: AsymmetricAlgorithm): PublicJwk {
  const exported = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const jwk: PublicJwk = { kid, kty: exported.kty!, alg, use: 'sig' };
  for (const member of PUBLIC_MEMBERS) if (exported[member] !== undefined) jwk[member] = exported[member];
  return jwk;
}

/** A signing key from a private JWK; throws (without echoing the key) when it does not fit `alg`. */
export function signingKeyFromJwk(jwk: Record<string, unknown>, kid: string, alg: AsymmetricAlgorithm): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    throw new Error(`signing key ${kid} is not a valid private JWK`);
  }
  if (!matches(alg, privateKey)) throw new Error(`signing key ${kid} is not a ${alg} key`);
  const publicKey = createPublicKey(privateKey);
  return { kid, alg, privateKey, publicKey, publicJwk: publicJwkOf(publicKey, kid, alg) };
}

/** A new managed key: its key objects and its private JWK (to be sealed before it is stored). */
export function generateSigningKey(alg: AsymmetricAlgorithm): { key: SigningKey; privateJwk: Record<string, unknown> } {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(12).toString('base64url');
  const key: SigningKey = {
    kid,
    alg,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    publicJwk: publicJwkOf(pair.publicKey, kid, alg),
  };
  return { key, privateJwk: pair.privateKey.export({ format: 'jwk' }) as Record<string, unknown> };
}
