import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKey, withKey } from '../api-keys/helpers';
import { GOOD_PASSWORD, LoggedIn, registerAndLogin, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import type { HttpResponse } from '../utils/http';

const ALLOWED = 'https://app.example.com';
const STRICT_CSP = "default-src 'none'; frame-ancestors 'none'";

function assertSecurityHeaders(res: HttpResponse, csp = STRICT_CSP): void {
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('content-security-policy'), csp);
  assert.equal(res.headers.get('x-powered-by'), null);
}

describe('security headers, CORS and compression', () => {
  let t: TestApp;
  let user: LoggedIn;
  before(async () => {
    t = await createTestApp({
      env: {
        CORS_ORIGINS: `${ALLOWED},https://admin.example.com`,
        CORS_MAX_AGE: '600',
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_REGISTER: '3',
      },
    });
    user = await registerAndLogin(t.api);
  });
  after(() => t.close());

  it('sends the security headers on success and error responses alike', async () => {
    const created = await t.api.post('/auth/register', { email: uniqueEmail(), password: GOOD_PASSWORD });
    assert.equal(created.status, 201);
    assertSecurityHeaders(created);
    assertSecurityHeaders(await t.api.post('/auth/register', { email: 'not an address', password: GOOD_PASSWORD })); // 400
    const limited = await t.api.post('/auth/register', {});
    assert.equal(limited.status, 429);
    assertSecurityHeaders(limited);
    assertSecurityHeaders(await t.api.get('/users/me')); // 401
    assertSecurityHeaders(await t.api.get('/no/such/route')); // 404
  });

  it('relaxes the content security policy only for the Swagger UI page', async () => {
    const page = await t.root.get('/docs');
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-eval|\*/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assertSecurityHeaders(await t.root.get('/docs-json'));
  });

  it('answers CORS only for the configured origins, on success and error responses', async () => {
    const ok = await t.api.get('/auth/verify', { token: user.accessToken, headers: { origin: ALLOWED } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(ok.headers.get('vary') ?? '', /origin/i);
    assert.match(ok.headers.get('access-control-expose-headers') ?? '', /Retry-After/);
    const denied = await t.api.get('/users/me', { headers: { origin: ALLOWED } }); // 401
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), ALLOWED);
    for (const origin of [
      'https://evil.example.com',
      'null',
      `${ALLOWED}.evil.example.com`,
      'http://app.example.com',
    ]) {
      const res = await t.api.get('/users/me', { headers: { origin } });
      assert.equal(res.headers.get('access-control-allow-origin'), null, origin);
      assert.equal(res.headers.get('access-control-allow-credentials'), null, origin);
    }
  });

  it('answers preflights from allowed origins and lets browsers cache them for CORS_MAX_AGE seconds', async () => {
    const preflight = (origin: string) =>
      t.api.request('OPTIONS', '/auth/login', {
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const allowed = await preflight('https://admin.example.com');
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://admin.example.com');
    assert.equal(allowed.headers.get('access-control-max-age'), '600');
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /content-type/i);
    for (const origin of ['https://evil.example.com', 'null']) {
      const refused = await preflight(origin);
      assert.equal(refused.headers.get('access-control-allow-origin'), null, origin);
    }
  });

  it('lets a browser on an allowed origin send an API key in X-API-Key', async () => {
    const preflight = await t.api.request('OPTIONS', '/auth/verify', {
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-api-key',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), ALLOWED);
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').split(',');
    assert.ok(
      allowed.some((name) => name.trim().toLowerCase() === 'x-api-key'),
      `X-API-Key is allowed: ${allowed.join(',')}`,
    );
    const key = await createKey(t.api, user.accessToken);
    const verified = await t.api.get('/auth/verify', withKey(key.key, { origin: ALLOWED }));
    assert.equal(verified.status, 200);
    assert.equal(verified.body.apiKeyId, key.id);
    assert.equal(verified.headers.get('access-control-allow-origin'), ALLOWED);
  });

  it('compresses responses over 1 kB when the client accepts it, and only then', async () => {
    const big = await t.root.get('/docs-json', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(big.status, 200);
    assert.equal(big.headers.get('content-encoding'), 'gzip');
    assert.ok(big.text.length > 1024);
    const identity = await t.root.get('/docs-json', { headers: { 'accept-encoding': 'identity' } });
    assert.equal(identity.headers.get('content-encoding'), null);
    const small = await t.api.get('/users/me', { headers: { 'accept-encoding': 'gzip' } });
    assert.ok(small.text.length < 1024);
    assert.equal(small.headers.get('content-encoding'), null);
  });
});
