// In-process micro-benchmarks of access-token crypto, outside any server: the CPU one signature
// costs (the same signCompactJws call and claims as AccessTokenService, on a KeyObject), and how many
// tokens per second a resource server verifies with jose (createRemoteJWKSet pointed at Latch, warm;
// HS256: the shared secret). Sequential on one core of the bench process; the best of 5 rounds.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createSecretKey, generateKeyPairSync, KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { signCompactJws, type JwsSigner } from '../../src/modules/tokens/jws-sign';

export type Algorithm = 'HS256' | 'ES256' | 'EdDSA';

function signingKey(alg: Algorithm): KeyObject {
  if (alg === 'HS256') return createSecretKey(randomBytes(48));
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return generateKeyPairSync('ed25519').privateKey;
}

const SESSION = randomUUID();
const USER = randomUUID();

function sign(signer: JwsSigner): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return Promise.resolve(
    signCompactJws(signer, 'at+jwt', {
      sid: SESSION,
      roles: ['user'],
      sub: USER,
      jti: randomUUID(),
      iat: now,
      exp: now + 900,
      iss: 'latch',
      aud: 'latch',
    }),
  );
}

const ROUNDS = 5;

/**
 * Process CPU (user + system) and wall time of `count` sequential runs of `step`, after a warm-up,
 * in rounds: the best round counts (other processes on the machine only make a round worse).
 */
async function timed(count: number, step: () => Promise<unknown>): Promise<{ cpuMsEach: number; perSec: number }> {
  for (let i = 0; i < Math.min(500, count); i++) await step();
  const each = Math.max(1, Math.floor(count / ROUNDS));
  let best = { cpuMsEach: Infinity, perSec: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let i = 0; i < each; i++) await step();
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const used = process.cpuUsage(cpu);
    best = {
      cpuMsEach: Math.min(best.cpuMsEach, (used.user + used.system) / 1000 / each),
      perSec: Math.max(best.perSec, (each * 1000) / wallMs),
    };
  }
  return best;
}

/** CPU per access token signed (ms), as AccessTokenService signs it. */
export async function signCpu(alg: Algorithm, count: number): Promise<{ cpuMsEach: number; perSec: number }> {
  const signer: JwsSigner = { alg, key: signingKey(alg), ...(alg === 'HS256' ? {} : { kid: 'bench-key' }) };
  return timed(count, () => sign(signer));
}

/**
 * Tokens per second a jose resource server verifies: `token` issued by the Latch server at
 * `baseUrl`, checked against its JWKS (fetched once, then cached, as a verifier does) or, for HS256,
 * against the shared secret.
 */
export async function verifyRate(
  alg: Algorithm,
  token: string,
  source: { baseUrl: string } | { secret: string },
  count: number,
): Promise<{ cpuMsEach: number; perSec: number }> {
  const key =
    'secret' in source
      ? createSecretKey(Buffer.from(source.secret, 'utf8'))
      : createRemoteJWKSet(new URL(`${source.baseUrl}/.well-known/jwks.json`));
  const options = { algorithms: [alg], issuer: 'latch', audience: 'latch', typ: 'at+jwt' };
  const verify = () => (key instanceof KeyObject ? jwtVerify(token, key, options) : jwtVerify(token, key, options));
  await verify(); // a wrong setup fails here, not inside the timing
  return timed(count, verify);
}
