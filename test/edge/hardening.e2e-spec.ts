// Issue 12: input no layer of the stack can store or read, odd-but-signed tokens, errors raised by
// the HTTP framework itself, the token form in the API docs, and what responses reveal or let caches keep.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, LoggedIn, login, registerUser, uniqueEmail } from '../factories/users';
import { query } from '../utils/database';
import { createTestApp, TEST_JWT_SECRET, TestApp } from '../utils/create-test-app';
import { withSignedInUser } from '../utils/signed-in-app';
import type { HttpResponse } from '../utils/http';

function signHs(payload: object): string {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64(payload)}`;
  return `${body}.${createHmac('sha256', TEST_JWT_SECRET).update(body).digest('base64url')}`;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

function assertProblem(res: HttpResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, res.text);
  assert.equal(res.body.code, code, res.text);
  assert.equal(res.body.status, status);
  for (const key of ['type', 'title', 'detail']) assert.equal(typeof res.body[key], 'string');
  assert.doesNotMatch(res.text, /FST_|at .*\.js:\d+/);
}

function assertOAuthError(res: HttpResponse, error: string | RegExp = 'invalid_request'): void {
  assert.equal(res.status, 400, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, res.text);
  if (typeof error === 'string') assert.equal(res.body.error, error, res.text);
  else assert.match(res.body.error, error, res.text);
  assert.equal(typeof res.body.error_description, 'string');
  assert.doesNotMatch(res.text, /FST_/);
}

function assertFieldRefused(res: HttpResponse, field: string): void {
  assertProblem(res, 400, 'VALIDATION_FAILED');
  assert.ok(
    res.body.errors?.some((e: { field: string }) => e.field === field),
    `${field} not named: ${res.text}`,
  );
}

/** A request sent byte for byte (fetch would normalise the path). */
function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        let parsed: unknown = text;
        if (/json/.test(h.get('content-type') ?? '') && text) parsed = JSON.parse(text);
        resolve({ status: res.statusCode ?? 0, headers: h, body: parsed, text });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const BAD_TEXT = ['Null\u0000Byte', 'lone \udc00\ud800 surrogates', 'high \ud800 alone'];

describe('text PostgreSQL cannot store is a 400 naming the field', () => {
  const env = withSignedInUser();

  it('refuses U+0000 and unpaired surrogates in every registration field', async () => {
    for (const bad of BAD_TEXT) {
      const base = { email: uniqueEmail(), password: GOOD_PASSWORD };
      assertFieldRefused(await env.t.api.post('/auth/register', { ...base, displayName: bad }), 'displayName');
      assertFieldRefused(await env.t.api.post('/auth/register', { ...base, username: `ab${bad}` }), 'username');
      assertFieldRefused(await env.t.api.post('/auth/register', { ...base, email: `a${bad}@example.com` }), 'email');
      assertFieldRefused(
        await env.t.api.post('/auth/register', { ...base, password: `${GOOD_PASSWORD}${bad}` }),
        'password',
      );
    }
  });

  it('refuses them in the profile, the sign-in and the token bodies', async () => {
    for (const bad of BAD_TEXT) {
      assertFieldRefused(
        await env.t.api.patch('/users/me', { displayName: bad }, { token: env.user.accessToken }),
        'displayName',
      );
      assertFieldRefused(await env.t.api.post('/auth/login', { email: `a${bad}@example.com`, password: 'x' }), 'email');
      assertFieldRefused(
        await env.t.api.post('/auth/login', { email: env.user.email, password: `p${bad}` }),
        'password',
      );
      assertFieldRefused(await env.t.api.post('/auth/refresh', { refreshToken: `r${bad}` }), 'refreshToken');
      assertFieldRefused(await env.t.api.post('/auth/password/forgot', { email: `a${bad}@example.com` }), 'email');
      assertFieldRefused(
        await env.t.api.post('/auth/password/reset', { token: `t${bad}`, password: GOOD_PASSWORD }),
        'token',
      );
      assertFieldRefused(await env.t.api.post('/auth/email/verify', { token: `t${bad}` }), 'token');
      assertFieldRefused(
        await env.t.api.post(
          '/auth/password/change',
          { currentPassword: `c${bad}`, newPassword: GOOD_PASSWORD },
          { token: env.user.accessToken },
        ),
        'currentPassword',
      );
    }
  });

  it('answers the token endpoint with invalid_request for such a parameter', async () => {
    // A form cannot carry a lone surrogate (its percent-encoding is invalid UTF-8, read as U+FFFD): NUL only.
    const forms: Record<string, string>[] = [
      { grant_type: 'password', username: 'a\u0000@example.com', password: 'x' },
      { grant_type: 'password', username: env.user.email, password: `${env.user.password}\u0000` },
      { grant_type: 'refresh_token', refresh_token: 'r\u0000' },
      { grant_type: 'password', username: env.user.email, password: env.user.password, client_id: 'c\u0000' },
    ];
    for (const form of forms) assertOAuthError(await env.t.api.post('/auth/token', undefined, { form }));
  });

  it('never lets a NUL shorten a password: the account keeps only its own', async () => {
    const res = await env.t.api.post('/auth/register', {
      email: uniqueEmail(),
      password: `${GOOD_PASSWORD}\u0000tail`,
    });
    assertFieldRefused(res, 'password');
  });

  it('refuses e-mails with CR, LF or other control characters, also in a quoted local part', async () => {
    for (const email of [
      '"a\r\nb"@example.com',
      '"a\nBcc: x@evil.test"@example.com',
      '"tab\there"@example.com',
      '"bell\u0007"@example.com',
      'a\u007f@example.com',
      '"del\u0085"@example.com',
    ]) {
      assertFieldRefused(await env.t.api.post('/auth/register', { email, password: GOOD_PASSWORD }), 'email');
      assertFieldRefused(await env.t.api.post('/auth/password/forgot', { email }), 'email');
    }
  });
});

describe('well-signed tokens with odd claims are 401 invalid_token', () => {
  let t: TestApp;
  let admin: LoggedIn;
  let claims: Record<string, unknown>;
  before(async () => {
    t = await createTestApp({ env: { JWT_ALGORITHM: 'HS256' } });
    const registered = await registerUser(t.api);
    await query(t.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [registered.id]);
    admin = await login(t.api, registered);
    claims = claimsOf(admin.accessToken);
  });
  after(() => t.close());

  const ODD: [string, Record<string, unknown>][] = [
    ['empty sub', { sub: '' }],
    ['sub not a uuid', { sub: 'not-a-uuid' }],
    ['sub a path', { sub: '../../etc/passwd' }],
    ['sid a NUL', { sid: '\u0000' }],
    ['sid not a uuid', { sid: 'x' }],
    ['roles not an array', { roles: 'admin' }],
    ['roles with an unknown role', { roles: ['user', 'root'] }],
    ['roles with a non-string', { roles: [1] }],
    ['iat not a number', { iat: 'yesterday' }],
    ['jti a NUL', { jti: '\u0000' }],
    ['jti an object', { jti: { a: 1 } }],
  ];

  it('answers 401 UNAUTHORIZED on every protected route before anything is queried', async () => {
    const routes: [string, string][] = [
      ['GET', '/users/me'],
      ['GET', '/auth/sessions'],
      ['POST', '/auth/logout-all'],
      ['GET', '/users'],
      ['GET', `/users/${admin.id}`],
      ['GET', '/users/presence/stream'],
    ];
    for (const [name, change] of ODD) {
      const token = signHs({ ...claims, ...change });
      for (const [method, path] of routes) {
        const res = await t.api.request(method, path, { token });
        assertProblem(res, 401, 'UNAUTHORIZED');
        assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/, `${name} ${method} ${path}`);
      }
    }
    // The genuine token still works.
    assert.equal((await t.api.get('/users/me', { token: admin.accessToken })).status, 200);
  });

  it('answers a non-uuid path id with 400 or 404, never 500', async () => {
    for (const id of ['not-a-uuid', '%00', "1'or'1"]) {
      for (const [method, path] of [
        ['GET', `/users/${id}`],
        ['POST', `/users/${id}/approve`],
        ['POST', `/users/${id}/disable`],
        ['DELETE', `/auth/sessions/${id}`],
      ]) {
        const res = await t.api.request(method, path, { token: admin.accessToken });
        assert.ok([400, 404].includes(res.status), `${method} ${path}: ${res.status} ${res.text}`);
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      }
    }
  });
});

describe('errors raised by the HTTP framework answer in the contract format', () => {
  let t: TestApp;
  let port: number;
  before(async () => {
    t = await createTestApp();
    port = Number(new URL(t.root.baseUrl).port);
  });
  after(() => t.close());

  it('a bad percent-escape in the path is 400 MALFORMED_REQUEST', async () => {
    assertProblem(await rawRequest(port, 'GET', '/api/v1/users/%zz'), 400, 'MALFORMED_REQUEST');
    assertProblem(await rawRequest(port, 'GET', '/api/v1/auth/sessions/%E0%A4%A'), 400, 'MALFORMED_REQUEST');
  });

  it('an over-long path parameter is 400 MALFORMED_REQUEST', async () => {
    assertProblem(await rawRequest(port, 'GET', `/api/v1/users/${'a'.repeat(531)}`), 400, 'MALFORMED_REQUEST');
  });

  it('an unparsable content type is a problem+json 4xx, and invalid_request on the token endpoint', async () => {
    const body = JSON.stringify({ email: 'a@example.com', password: 'x' });
    for (const type of [
      'application/json;;;',
      'application/json; charset',
      '/',
      'application/json; charset=utf-8; charset=x',
    ]) {
      const res = await rawRequest(port, 'POST', '/api/v1/auth/login', { 'content-type': type }, body);
      // A lenient parse may read it as JSON (then the sign-in itself answers); never a bare Fastify error.
      assert.ok(res.status >= 400 && res.status < 500, `${type}: ${res.status}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, `${type}: ${res.text}`);
      assert.doesNotMatch(res.text, /FST_/);
      const asJson = await rawRequest(port, 'POST', '/api/v1/auth/token', { 'content-type': type }, body);
      assertOAuthError(asJson);
      const form = type.replace('application/json', 'application/x-www-form-urlencoded');
      const asForm = await rawRequest(port, 'POST', '/api/v1/auth/token', { 'content-type': form }, 'grant_type=x');
      // Either read leniently as a form (then the grant is judged) or refused: always RFC 6749.
      assertOAuthError(asForm, /^(invalid_request|unsupported_grant_type)$/);
    }
  });

  it('a body of an unknown media type on the token endpoint is an RFC 6749 error', async () => {
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      assertOAuthError(await rawRequest(port, 'POST', '/api/v1/auth/token', { 'content-type': type }, 'grant_type=x'));
    }
  });

  it('a body over 100 kB is 413 problem+json, and invalid_request on the token endpoint', async () => {
    const big = 'x'.repeat(101 * 1024);
    assertProblem(
      await rawRequest(
        port,
        'POST',
        '/api/v1/auth/login',
        { 'content-type': 'application/json' },
        JSON.stringify({ big }),
      ),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    const res = await rawRequest(
      port,
      'POST',
      '/api/v1/auth/token',
      { 'content-type': 'application/x-www-form-urlencoded' },
      `grant_type=password&username=${big}`,
    );
    assert.ok([400, 413].includes(res.status), res.text);
    assert.equal(res.body.error, 'invalid_request', res.text);
  });

  it('a wrong content length is 400 MALFORMED_REQUEST', async () => {
    const res = await rawRequest(
      port,
      'POST',
      '/api/v1/auth/login',
      { 'content-type': 'application/json', 'content-length': '2' },
      '{}',
    );
    assert.ok(res.status < 500, res.text);
    const bad = await rawRequest(
      port,
      'POST',
      '/api/v1/auth/login',
      { 'content-type': 'application/json', 'content-length': '-1' },
      '',
    );
    assert.ok(bad.status === 400 || bad.status === 0 || bad.status < 500, bad.text);
  });
});

describe('docs, timings and caching', () => {
  const env = withSignedInUser();

  it('declares the token form in the OpenAPI document', async () => {
    const doc = (await env.t.root.get('/docs-json')).body;
    const op = doc.paths['/api/v1/auth/token'].post;
    const content = op.requestBody?.content?.['application/x-www-form-urlencoded'];
    assert.ok(content, JSON.stringify(op.requestBody));
    let schema = content.schema;
    if (schema.$ref) schema = doc.components.schemas[schema.$ref.split('/').pop()];
    for (const name of ['grant_type', 'username', 'password', 'refresh_token', 'client_id']) {
      assert.ok(schema.properties?.[name], `${name} missing: ${JSON.stringify(schema)}`);
    }
    assert.deepEqual(schema.required, ['grant_type']);
  });

  it('tells every client only the total in Server-Timing, no bcrypt or database time', async () => {
    const res = await env.t.api.post('/auth/login', { email: env.user.email, password: env.user.password });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('server-timing') ?? '', /^total;dur=[\d.]+$/);
  });

  it('sends Cache-Control: no-store on /users/me and /auth/sessions', async () => {
    const me = await env.t.api.get('/users/me', { token: env.user.accessToken });
    assert.equal(me.headers.get('cache-control'), 'no-store');
    const patched = await env.t.api.patch('/users/me', { displayName: 'Ada' }, { token: env.user.accessToken });
    assert.equal(patched.status, 200);
    assert.equal(patched.headers.get('cache-control'), 'no-store');
    const sessions = await env.t.api.get('/auth/sessions', { token: env.user.accessToken });
    assert.equal(sessions.headers.get('cache-control'), 'no-store');
  });
});
