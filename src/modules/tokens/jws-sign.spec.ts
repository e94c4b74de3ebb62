import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import { createSecretKey, generateKeyPairSync, KeyObject, randomBytes, sign, verify } from 'node:crypto';
import type { SigningAlgorithm } from '../keys/key-material';
import { type JwsSigner, p1363FromDer, signCompactJws } from './jws-sign';

const claims = {
  sid: '6f1c2a52-3a57-4c55-9a39-0c0f1d2e3b4a',
  roles: ['user', 'admin'],
  sub: '0b7d7f4e-1111-4222-8333-444455556666',
  jti: '9a8b7c6d-0000-4111-8222-333344445555',
  iat: 1_765_000_000,
  exp: 1_765_000_900,
  iss: 'latch',
  aud: 'latch',
};

function joseSign(signer: JwsSigner): Promise<string> {
  return new SignJWT({ sid: claims.sid, roles: claims.roles })
    .setProtectedHeader({ alg: signer.alg, typ: 'at+jwt', ...(signer.kid ? { kid: signer.kid } : {}) })
    .setSubject(claims.sub)
    .setJti(claims.jti)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .setIssuer(claims.iss)
    .setAudience(claims.aud)
    .sign(signer.key);
}

function keyPair(alg: Exclude<SigningAlgorithm, 'HS256'>): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519');
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

async function verifiedByJwks(token: string, alg: string, publicKey: KeyObject): Promise<void> {
  const jwks = createLocalJWKSet({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg, use: 'sig' }] });
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    algorithms: [alg],
    typ: 'at+jwt',
    issuer: 'latch',
    audience: 'latch',
    currentDate: new Date((claims.iat + 1) * 1000),
  });
  assert.deepEqual(payload, claims);
  assert.deepEqual(protectedHeader, { alg, typ: 'at+jwt', kid: 'k1' });
}

describe('compact JWS signing', () => {
  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
    it(`writes the bytes jose writes for ${alg}, and a JWKS verifier accepts them`, async () => {
      const { privateKey, publicKey } = keyPair(alg);
      const signer: JwsSigner = { alg, kid: 'k1', key: privateKey };
      const token = signCompactJws(signer, 'at+jwt', claims);
      const reference = await joseSign(signer);
      if (alg === 'ES256') {
        // ECDSA signatures are randomised: the signed part and the signature's form must match.
        assert.equal(token.split('.').slice(0, 2).join('.'), reference.split('.').slice(0, 2).join('.'));
        assert.equal(Buffer.from(token.split('.')[2]!, 'base64url').length, 64, 'r || s, not DER');
      } else {
        assert.equal(token, reference);
      }
      await verifiedByJwks(token, alg, publicKey);
    });
  }

  it('writes the bytes jose writes for HS256, with no kid', async () => {
    const signer: JwsSigner = { alg: 'HS256', key: createSecretKey(randomBytes(48)) };
    const token = signCompactJws(signer, 'at+jwt', claims);
    assert.equal(token, await joseSign(signer));
    const { payload } = await jwtVerify(token, signer.key, { currentDate: new Date((claims.iat + 1) * 1000) });
    assert.deepEqual(payload, claims);
  });

  it('signs with the key of each signer, also when one takes over from another', async () => {
    const first = keyPair('ES256');
    const second = keyPair('ES256');
    const a = signCompactJws({ alg: 'ES256', kid: 'k1', key: first.privateKey }, 'at+jwt', claims);
    const b = signCompactJws({ alg: 'ES256', kid: 'k2', key: second.privateKey }, 'at+jwt', claims);
    await verifiedByJwks(a, 'ES256', first.publicKey);
    await assert.rejects(verifiedByJwks(b, 'ES256', first.publicKey));
    assert.equal(JSON.parse(Buffer.from(b.split('.')[0]!, 'base64url').toString('utf8')).kid, 'k2');
  });
});

describe('ECDSA signatures from DER to r || s', () => {
  it('pads short integers and drops the sign byte of long ones, as node:crypto does itself', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // Enough signatures that r or s below 2^248 or with the high bit set each turn up.
    for (let i = 0; i < 2000; i++) {
      const data = randomBytes(16);
      const der = sign('sha256', data, privateKey);
      const converted = p1363FromDer(der);
      assert.equal(converted.length, 64);
      assert.ok(verify('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }, converted), `signature ${i}`);
    }
  });
});
