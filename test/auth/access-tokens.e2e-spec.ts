import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { registerAndLogin, LoggedIn } from '../factories/users';
import { createTestApp, TEST_JWT_SECRET, TestApp } from '../utils/create-test-app';

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function signHs(header: object, payload: object, secret = TEST_JWT_SECRET, alg = 'sha256'): string {
  const body = `${b64(header)}.${b64(payload)}`;
  return `${body}.${createHmac(alg, secret).update(body).digest('base64url')}`;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

describe('access tokens on the wire', () => {
  let t: TestApp;
  let user: LoggedIn;
  let claims: Record<string, unknown>;

  before(async () => {
    t = await createTestApp({ env: { JWT_ALGORITHM: 'HS256' } });
    user = await registerAndLogin(t.api);
    claims = claimsOf(user.accessToken);
  });
  after(() => t.close());

  async function expectRejected(token: string): Promise<void> {
    const res = await t.api.get('/users/me', { token });
    assert.equal(res.status, 401, `accepted: ${token}`);
    assert.equal(res.body.code, 'UNAUTHORIZED');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
  }

  it('carries the contract claims, a pinned algorithm and an explicit typ', () => {
    const header = JSON.parse(Buffer.from(user.accessToken.split('.')[0], 'base64url').toString('utf8'));
    assert.deepEqual(header, { alg: 'HS256', typ: 'at+jwt' });
    for (const claim of ['iss', 'aud', 'exp', 'iat', 'sub', 'sid', 'jti', 'roles']) assert.ok(claim in claims, claim);
    assert.equal(claims.iss, 'latch');
    assert.equal(claims.aud, 'latch');
    assert.equal(claims.sub, user.id);
    assert.equal((claims.exp as number) - (claims.iat as number), 900);
  });

  it('accepts a correctly signed token (control for the cases below)', async () => {
    const token = signHs({ alg: 'HS256', typ: 'at+jwt' }, { ...claims, jti: randomUUID() });
    assert.equal((await t.api.get('/users/me', { token })).status, 200);
  });

  it('rejects alg none', () => expectRejected(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`));

  it('rejects another algorithm, even with the right secret', () =>
    expectRejected(signHs({ alg: 'HS512', typ: 'at+jwt' }, claims, TEST_JWT_SECRET, 'sha512')));

  it('rejects a token signed with another secret', () =>
    expectRejected(signHs({ alg: 'HS256', typ: 'at+jwt' }, claims, 'another-secret-that-is-also-long-enough-000')));

  it('rejects a tampered payload', () => {
    const [h, , s] = user.accessToken.split('.');
    return expectRejected(`${h}.${b64({ ...claims, roles: ['admin'] })}.${s}`);
  });

  it('rejects a wrong issuer or audience', async () => {
    await expectRejected(signHs({ alg: 'HS256', typ: 'at+jwt' }, { ...claims, iss: 'someone-else' }));
    await expectRejected(signHs({ alg: 'HS256', typ: 'at+jwt' }, { ...claims, aud: 'other-service' }));
  });

  it('rejects an expired token', () => {
    const now = Math.floor(Date.now() / 1000);
    return expectRejected(signHs({ alg: 'HS256', typ: 'at+jwt' }, { ...claims, iat: now - 1000, exp: now - 100 }));
  });

  it('rejects a token without the access typ', async () => {
    await expectRejected(signHs({ alg: 'HS256', typ: 'JWT' }, claims));
    await expectRejected(signHs({ alg: 'HS256' }, claims));
  });

  it('rejects a refresh token used as a bearer token', () => expectRejected(user.refreshToken));

  it('rejects a token for a session that does not exist', () =>
    expectRejected(signHs({ alg: 'HS256', typ: 'at+jwt' }, { ...claims, sid: randomUUID() })));

  it('never reads a token from the query string', async () => {
    const res = await t.api.get(`/users/me?access_token=${user.accessToken}`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="latch"');
  });

  it('answers a missing token with 401 problem+json', async () => {
    const res = await t.api.get('/auth/verify');
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  });
});
