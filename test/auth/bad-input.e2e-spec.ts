import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';

describe('bad input gets a clear 4xx problem+json', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  function assertProblem(
    res: { status: number; headers: Headers; body: any; text: string },
    status: number,
    code: string,
  ) {
    assert.equal(res.status, status, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(res.body.code, code);
    assert.equal(res.body.status, status);
    for (const key of ['type', 'title', 'detail']) assert.equal(typeof res.body[key], 'string');
    assert.doesNotMatch(res.text, /at .*\.js:\d+|QueryFailedError|SELECT |INSERT |SyntaxError|FST_/);
  }

  it('malformed JSON is 400 MALFORMED_REQUEST', async () => {
    const res = await t.api.request('POST', '/auth/login', {
      raw: '{"email": "a@b.c", ',
      headers: { 'content-type': 'application/json' },
    });
    assertProblem(res, 400, 'MALFORMED_REQUEST');
  });

  it('a JSON array, string or null body is 400 VALIDATION_FAILED', async () => {
    for (const raw of ['[]', '"text"', 'null', '42']) {
      const res = await t.api.request('POST', '/auth/register', {
        raw,
        headers: { 'content-type': 'application/json' },
      });
      assert.ok([400].includes(res.status), `${raw}: ${res.status}`);
      assert.equal(res.body.code, 'VALIDATION_FAILED', raw);
    }
  });

  it('a missing body is 400 VALIDATION_FAILED with the missing fields named', async () => {
    const res = await t.api.request('POST', '/auth/register');
    assertProblem(res, 400, 'VALIDATION_FAILED');
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    assert.ok(fields.includes('email') && fields.includes('password'));
  });

  it('unknown fields are refused', async () => {
    const res = await t.api.post('/auth/register', { email: uniqueEmail(), password: GOOD_PASSWORD, roles: ['admin'] });
    assertProblem(res, 400, 'VALIDATION_FAILED');
    assert.deepEqual(res.body.errors, [{ field: 'roles', message: 'roles is not an allowed field' }]);
  });

  it('wrong types are refused', async () => {
    const res = await t.api.post('/auth/login', { email: { $ne: '' }, password: ['x'] });
    assertProblem(res, 400, 'VALIDATION_FAILED');
  });

  it('a prototype-polluting body does nothing harmful', async () => {
    const raw = `{"email":"${uniqueEmail()}","password":"${GOOD_PASSWORD}","__proto__":{"admin":true}}`;
    const res = await t.api.request('POST', '/auth/register', { raw, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body.roles, ['user']);
  });

  it('bodies over 100 kB are 413', async () => {
    const raw = JSON.stringify({ email: uniqueEmail(), password: 'x'.repeat(110 * 1024) });
    const res = await t.api.request('POST', '/auth/register', { raw, headers: { 'content-type': 'application/json' } });
    assertProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a wrong content type is 415', async () => {
    const plain = await t.api.request('POST', '/auth/login', {
      raw: 'email=a',
      headers: { 'content-type': 'text/plain' },
    });
    assertProblem(plain, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const form = await t.api.request('POST', '/auth/login', { form: { email: 'a@b.c', password: 'x' } });
    assertProblem(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const xml = await t.api.request('POST', '/auth/register', {
      raw: '<a/>',
      headers: { 'content-type': 'application/xml' },
    });
    assertProblem(xml, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('an invalid e-mail is refused, a unicode one is accepted', async () => {
    const bad = await t.api.post('/auth/register', { email: 'not-an-email', password: GOOD_PASSWORD });
    assertProblem(bad, 400, 'VALIDATION_FAILED');
    const nul = await t.api.post('/auth/register', { email: 'a\u0000b@example.com', password: GOOD_PASSWORD });
    assertProblem(nul, 400, 'VALIDATION_FAILED');
    const unicode = await t.api.post('/auth/register', {
      email: `jos\u00e9-${Date.now()}@example.com`,
      password: GOOD_PASSWORD,
      displayName: '\u738b\u5c0f\u660e \ud83d\ude80',
    });
    assert.equal(unicode.status, 201, unicode.text);
    assert.equal(unicode.body.displayName, '\u738b\u5c0f\u660e \ud83d\ude80');
  });

  it('concurrent registrations of one address create one account', async () => {
    const email = uniqueEmail();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => t.api.post('/auth/register', { email, password: GOOD_PASSWORD })),
    );
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409]);
  });

  it('unknown routes are 404 problem+json', async () => {
    const res = await t.api.get('/nope');
    assertProblem(res, 404, 'NOT_FOUND');
  });

  it('a password of 100 kB never reaches bcrypt and is a clear 400', async () => {
    const res = await t.api.post('/auth/login', { email: uniqueEmail(), password: 'p'.repeat(90 * 1024) });
    assertProblem(res, 400, 'VALIDATION_FAILED');
  });
});
