// Asymmetric access tokens seen from outside: a resource server verifies them with jose and the
// remote JWKS, across a rotation and a revocation; bad tokens are 401 invalid_token; the database
// holds no private key in clear; a wrong ENCRYPTION_KEY refuses to start; instances agree.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { login, LoggedIn, registerAndLogin, registerUser } from '../factories/users';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { createInstancesSharingRedis, createTestApp, SKIP_WITHOUT_REDIS, TestApp } from '../utils/create-test-app';

const PUBLISH_AHEAD = 1; // seconds, so a rotation takes effect within the test

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function claimsOf(token: string): JWTPayload {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as JWTPayload;
}

async function makeAdmin(t: TestApp): Promise<LoggedIn> {
  const user = await registerUser(t.api);
  await query(t.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [user.id]);
  return login(t.api, user);
}

/** A resource server as another team would write it: jose and Latch's JWKS over HTTP. */
function resourceServer(t: TestApp) {
  // No cooldown: the test decides when the verifier has had a chance to refetch.
  const jwks = createRemoteJWKSet(new URL(`${t.root.baseUrl}/.well-known/jwks.json`), {
    cooldownDuration: 0,
    cacheMaxAge: 0,
  });
  return async (token: string) =>
    (await jwtVerify(token, jwks, { issuer: 'latch', audience: 'latch', algorithms: ['ES256'], typ: 'at+jwt' }))
      .payload;
}

describe('asymmetric access tokens and the JWKS', () => {
  let t: TestApp;
  let admin: LoggedIn;

  before(async () => {
    t = await createTestApp({ env: { JWT_KEY_PUBLISH_AHEAD_SECONDS: String(PUBLISH_AHEAD) } });
    admin = await makeAdmin(t);
  });
  after(() => t.close());

  it('signs ES256 with a kid and typ at+jwt, and publishes the public key only', async () => {
    const header = headerOf(admin.accessToken);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(typeof header.kid, 'string');
    const res = await t.root.get('/.well-known/jwks.json');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
    const key = res.body.keys.find((k: { kid: string }) => k.kid === header.kid);
    assert.ok(key, 'the signing key is published');
    assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    assert.equal(key.use, 'sig');
  });

  it('serves RFC 8414 metadata from APP_URL and JWT_ISSUER', async () => {
    const res = await t.root.get('/.well-known/oauth-authorization-server');
    assert.equal(res.status, 200);
    assert.equal(res.body.issuer, 'latch');
    assert.equal(res.body.token_endpoint, `${t.config.app.appUrl}/api/v1/auth/token`);
    assert.equal(res.body.jwks_uri, `${t.config.app.appUrl}/.well-known/jwks.json`);
  });

  it('keeps the private key sealed in the database', async () => {
    const rows = await query<{ public_jwk: Record<string, unknown>; private_sealed: string }>(
      t.databaseUrl,
      'SELECT public_jwk, private_sealed FROM signing_keys',
    );
    assert.ok(rows.length >= 1);
    for (const row of rows) {
      assert.equal(row.public_jwk.d, undefined);
      assert.match(row.private_sealed, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      assert.ok(!row.private_sealed.includes('"d"'));
    }
  });

  it('is verified by a jose resource server across a rotation, and refused after a revocation', async () => {
    const verify = resourceServer(t);
    const user = await registerAndLogin(t.api);
    const oldKid = headerOf(user.accessToken).kid;
    assert.equal((await verify(user.accessToken)).sub, user.id);

    const rotated = await t.api.post('/keys/rotate', {}, { token: admin.accessToken });
    assert.equal(rotated.status, 200);
    const next = rotated.body.find((k: { state: string }) => k.state === 'next');
    assert.ok(next, 'a next key is listed');
    const published = (await t.root.get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    assert.ok(published.includes(next.kid) && published.includes(oldKid), 'both keys are published');

    // The next key signs once the publish-ahead delay has passed.
    const fresh = await eventually(
      async () => {
        const pair = await login(t.api, user);
        return headerOf(pair.accessToken).kid === next.kid ? pair : undefined;
      },
      { what: 'the next key to sign', timeoutMs: 10_000 },
    );
    assert.equal((await verify(fresh.accessToken)).sub, user.id);
    assert.equal((await verify(user.accessToken)).sub, user.id, 'old tokens still verify');
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);

    const revoked = await t.api.post(`/keys/${next.kid}/revoke`, {}, { token: admin.accessToken });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.find((k: { kid: string }) => k.kid === next.kid).state, 'revoked');
    assert.equal(revoked.body.filter((k: { state: string }) => k.state === 'active').length, 1);
    const me = await t.api.get('/users/me', { token: fresh.accessToken });
    assert.equal(me.status, 401);
    assert.match(me.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    await assert.rejects(verify(fresh.accessToken));
    const kids = (await t.root.get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    assert.ok(!kids.includes(next.kid));
    const after = await login(t.api, user);
    assert.ok(headerOf(after.accessToken).kid !== next.kid);
    assert.equal((await verify(after.accessToken)).sub, user.id);
  });

  it('answers 404 for an unknown kid and 403 to a non-admin', async () => {
    const user = await registerAndLogin(t.api);
    assert.equal((await t.api.get('/keys', { token: user.accessToken })).status, 403);
    const unknown = await t.api.post('/keys/nope/revoke', {}, { token: admin.accessToken });
    assert.equal(unknown.status, 404);
  });

  describe('bad tokens are 401 invalid_token, never 5xx', () => {
    let user: LoggedIn;
    let claims: JWTPayload;
    before(async () => {
      user = await registerAndLogin(t.api);
      claims = claimsOf(user.accessToken);
    });

    async function expectRejected(token: string): Promise<void> {
      const res = await t.api.get('/users/me', { token });
      assert.equal(res.status, 401, `accepted or failed: ${res.status} ${token.slice(0, 80)}`);
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }

    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sign = (header: Record<string, unknown>) =>
      new SignJWT({ ...claims, jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...header })
        .sign(attacker.privateKey);

    it('refuses an unknown kid, a path as kid and a 10 kB kid', async () => {
      await expectRejected(await sign({ kid: 'not-a-key' }));
      await expectRejected(await sign({ kid: '../../../../etc/passwd' }));
      await expectRejected(await sign({ kid: 'k'.repeat(10_240) }));
    });

    it('ignores jku, x5u and an embedded jwk', async () => {
      const jwk = attacker.publicKey.export({ format: 'jwk' });
      const kid = headerOf(user.accessToken).kid;
      await expectRejected(await sign({ kid, jwk: { ...jwk, kid, alg: 'ES256' } }));
      await expectRejected(await sign({ kid, jku: 'http://127.0.0.1:1/jwks.json' }));
      await expectRejected(await sign({ kid, x5u: 'http://127.0.0.1:1/cert.pem' }));
    });

    it('refuses HS256 signed with the public key (algorithm confusion), none and another alg', async () => {
      const jwks = (await t.root.get('/.well-known/jwks.json')).body.keys;
      const kid = headerOf(user.accessToken).kid;
      const jwk = jwks.find((k: { kid: string }) => k.kid === kid);
      const { createPublicKey } = await import('node:crypto');
      const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
      for (const secret of [pem, JSON.stringify(jwk)]) {
        const body = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64({ ...claims, jti: randomUUID() })}`;
        await expectRejected(`${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`);
      }
      await expectRejected(`${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims)}.`);
      const ed = generateKeyPairSync('ed25519');
      await expectRejected(
        await new SignJWT({ ...claims })
          .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: String(kid) })
          .sign(ed.privateKey),
      );
    });

    it('still accepts the genuine token (control)', async () => {
      assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);
    });
  });
});

describe('JWKS with HS256, and operator keys', () => {
  it('publishes no keys with HS256', async () => {
    const t = await createTestApp({ env: { JWT_ALGORITHM: 'HS256' } });
    try {
      const res = await t.root.get('/.well-known/jwks.json');
      assert.deepEqual(res.body, { keys: [] });
      const user = await registerAndLogin(t.api);
      assert.deepEqual(headerOf(user.accessToken), { alg: 'HS256', typ: 'at+jwt' });
    } finally {
      await t.close();
    }
  });

  it('signs with the first JWT_SIGNING_KEYS key and publishes them all, storing none', async () => {
    const jwk = (kid: string) => ({ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid });
    const keys = { keys: [jwk('vault-1'), jwk('vault-0')] };
    const t = await createTestApp({ env: { JWT_ALGORITHM: 'EdDSA', JWT_SIGNING_KEYS: JSON.stringify(keys) } });
    try {
      const user = await registerAndLogin(t.api);
      assert.equal(headerOf(user.accessToken).kid, 'vault-1');
      assert.equal(headerOf(user.accessToken).alg, 'EdDSA');
      const published = (await t.root.get('/.well-known/jwks.json')).body.keys;
      assert.deepEqual(
        published.map((k: { kid: string }) => k.kid),
        ['vault-1', 'vault-0'],
      );
      assert.ok(published.every((k: Record<string, unknown>) => k.d === undefined));
      assert.equal((await query(t.databaseUrl, 'SELECT kid FROM signing_keys')).length, 0);
    } finally {
      await t.close();
    }
  });
});

describe('switching HS256 to ES256', () => {
  it('refuses access tokens signed before the switch; clients recover by refreshing', async () => {
    const hs = await createTestApp({ env: { JWT_ALGORITHM: 'HS256' } });
    const es = await createTestApp({ databaseUrl: hs.databaseUrl });
    try {
      const user = await registerAndLogin(hs.api);
      assert.equal((await es.api.get('/users/me', { token: user.accessToken })).status, 401);
      const refreshed = await es.api.post('/auth/refresh', { refreshToken: user.refreshToken });
      assert.equal(refreshed.status, 200);
      assert.equal(headerOf(refreshed.body.accessToken).alg, 'ES256');
      assert.equal((await es.api.get('/users/me', { token: refreshed.body.accessToken })).status, 200);
    } finally {
      await es.close();
      await hs.close();
    }
  });
});

describe('a wrong ENCRYPTION_KEY', () => {
  it('refuses to start, saying so, and creates no key over the stored ones', async () => {
    const t = await createTestApp();
    try {
      const before = await query(t.databaseUrl, 'SELECT kid FROM signing_keys ORDER BY kid');
      await assert.rejects(
        createTestApp({
          databaseUrl: t.databaseUrl,
          env: { ENCRYPTION_KEY: Buffer.alloc(32, 'another key entirely').toString('base64') },
        }),
        /ENCRYPTION_KEY cannot open the stored signing key/,
      );
      assert.deepEqual(await query(t.databaseUrl, 'SELECT kid FROM signing_keys ORDER BY kid'), before);
    } finally {
      await t.close();
    }
  });
});

describe('rotating ENCRYPTION_KEY', () => {
  it('re-seals the stored keys under the new key and keeps signing with the same key', async () => {
    const t = await createTestApp();
    try {
      const kid = headerOf((await registerAndLogin(t.api)).accessToken).kid;
      const [{ private_sealed: before }] = await query<{ private_sealed: string }>(
        t.databaseUrl,
        'SELECT private_sealed FROM signing_keys WHERE kid = $1',
        [kid],
      );
      const fresh = Buffer.alloc(32, 'the next encryption key').toString('base64');
      const rotated = await createTestApp({
        databaseUrl: t.databaseUrl,
        env: { ENCRYPTION_KEY: `${fresh},${t.config.crypto.encryptionKeys[0]!.toString('base64')}` },
      });
      try {
        assert.equal(headerOf((await registerAndLogin(rotated.api)).accessToken).kid, kid);
        const [{ private_sealed: after }] = await query<{ private_sealed: string }>(
          t.databaseUrl,
          'SELECT private_sealed FROM signing_keys WHERE kid = $1',
          [kid],
        );
        assert.notEqual(after.split('.')[1], before.split('.')[1], 'sealed under another key');
      } finally {
        await rotated.close();
      }
      // Now only the new key is needed.
      const only = await createTestApp({ databaseUrl: t.databaseUrl, env: { ENCRYPTION_KEY: fresh } });
      await only.close();
    } finally {
      await t.close();
    }
  });
});

describe('two instances sharing PostgreSQL and Redis', { skip: SKIP_WITHOUT_REDIS }, () => {
  it('sign with the same key and see a rotation and a revocation within 1 s', async () => {
    const [a, b] = await createInstancesSharingRedis({ JWT_KEY_PUBLISH_AHEAD_SECONDS: String(PUBLISH_AHEAD) });
    try {
      const admin = await makeAdmin(a);
      const user = await registerAndLogin(a.api);
      const onB = await login(b.api, user);
      assert.equal(headerOf(onB.accessToken).kid, headerOf(user.accessToken).kid);
      assert.equal((await b.api.get('/users/me', { token: user.accessToken })).status, 200);

      const rotated = await a.api.post('/keys/rotate', {}, { token: admin.accessToken });
      const next = rotated.body.find((k: { state: string }) => k.state === 'next');
      const activation = new Date(next.activatesAt).getTime();
      await eventually(async () => headerOf((await login(b.api, user)).accessToken).kid === next.kid, {
        what: 'the other instance to sign with the rotated key',
        timeoutMs: activation - Date.now() + 1000,
      });
      const fresh = await login(a.api, user);
      assert.equal(headerOf(fresh.accessToken).kid, next.kid);

      await a.api.post(`/keys/${next.kid}/revoke`, {}, { token: admin.accessToken });
      await eventually(async () => (await b.api.get('/users/me', { token: fresh.accessToken })).status === 401, {
        what: 'the other instance to refuse the revoked key',
        timeoutMs: 1000,
      });
      const listed = (await b.api.get('/keys', { token: admin.accessToken })).body;
      assert.equal(listed.find((k: { kid: string }) => k.kid === next.kid).state, 'revoked');
    } finally {
      await b.close();
      await a.close();
    }
  });
});
