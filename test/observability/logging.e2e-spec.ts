import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { registerAndLogin, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { LogCapture } from './log-capture';

describe('request ids, request logs and Server-Timing', () => {
  let t: TestApp;
  const logs = new LogCapture();
  before(async () => {
    t = await createTestApp({ env: { LOG_LEVEL: 'trace' }, logDestination: logs });
  });
  after(() => t.close());

  it('returns the caller’s X-Request-Id and stamps it on every log line of the request', async () => {
    const requestId = `client-${randomBytes(6).toString('hex')}`;
    const res = await t.api.post(
      '/auth/register',
      { email: uniqueEmail('rid'), password: 'Request id passphrase 42' },
      { headers: { 'x-request-id': requestId } },
    );
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-request-id'), requestId);
    const lines = logs.forRequest(requestId);
    assert.ok(
      lines.some((line) => line.msg === 'request body'),
      'the body line carries the id',
    );
    const done = lines.find((line) => line.msg === 'request completed');
    assert.ok(done, 'the completion line carries the id');
    assert.equal(done.userId, res.body.id, 'the new user is known once registered');
    assert.deepEqual((done.res as { statusCode: number }).statusCode, 201);
    assert.equal((done.req as { route: string }).route, '/api/v1/auth/register');
  });

  it('generates a request id when none (or an unacceptable one) is sent', async () => {
    const plain = await t.root.get('/health/liveness');
    const generated = plain.headers.get('x-request-id') ?? '';
    assert.match(generated, /^[0-9a-f-]{36}$/);
    const hostile = await t.api.get('/users/me', { headers: { 'x-request-id': 'evil id; with spaces <and> markup' } });
    assert.equal(hostile.status, 401);
    const replaced = hostile.headers.get('x-request-id') ?? '';
    assert.match(replaced, /^[0-9a-f-]{36}$/);
    assert.ok(logs.forRequest(replaced).length > 0);
    assert.ok(!logs.text.includes('evil'));
  });

  it('adds the user and session to the lines of an authenticated request', async () => {
    const user = await registerAndLogin(t.api);
    const requestId = `me-${randomBytes(6).toString('hex')}`;
    const me = await t.api.get('/users/me', { token: user.accessToken, headers: { 'x-request-id': requestId } });
    assert.equal(me.status, 200);
    const done = logs.forRequest(requestId).find((line) => line.msg === 'request completed');
    assert.ok(done);
    assert.equal(done.userId, user.id);
    assert.match(String(done.sessionId), /^[0-9a-f-]{36}$/);
  });

  it('sends Server-Timing with the total only, never the bcrypt or database time', async () => {
    const user = await registerAndLogin(t.api);
    const res = await t.api.post('/auth/login', { email: user.email, password: user.password });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('server-timing') ?? '', /^total;dur=\d+(\.\d+)?$/);
    const health = await t.root.get('/health/liveness');
    assert.match(health.headers.get('server-timing') ?? '', /^total;dur=\d+(\.\d+)?$/);
  });
});

describe('slow requests', () => {
  let t: TestApp;
  const logs = new LogCapture();
  before(async () => {
    t = await createTestApp({ env: { LOG_LEVEL: 'warn', SLOW_REQUEST_MS: '1' }, logDestination: logs });
  });
  after(() => t.close());

  it('logs a request slower than SLOW_REQUEST_MS as a warning with its timing breakdown', async () => {
    const user = await registerAndLogin(t.api);
    const requestId = `slow-${randomBytes(6).toString('hex')}`;
    const res = await t.api.post(
      '/auth/login',
      { email: user.email, password: user.password },
      { headers: { 'x-request-id': requestId } },
    );
    assert.equal(res.status, 200);
    const warning = logs.forRequest(requestId).find((line) => line.level === 'warn');
    assert.ok(warning, 'a warning for the slow login');
    assert.match(String(warning.msg), /^slow request: POST \/api\/v1\/auth\/login took \d/);
    const timing = warning.timing as Record<string, number>;
    assert.ok(timing.totalMs >= 1);
    assert.ok(timing.handlerMs! > 0);
    assert.ok(timing.dbMs > 0 && timing.dbQueries > 0);
    assert.ok(timing.bcryptMs > 0);
    assert.equal(warning.userId, user.id);
  });

  it('times the handler of a request without a body too (its route has no preHandler pass)', async () => {
    const user = await registerAndLogin(t.api);
    const requestId = `slow-get-${randomBytes(6).toString('hex')}`;
    const res = await t.api.get('/users/me', { token: user.accessToken, headers: { 'x-request-id': requestId } });
    assert.equal(res.status, 200);
    const warning = logs.forRequest(requestId).find((line) => line.level === 'warn');
    assert.ok(warning, 'a warning for the slow read');
    const timing = warning.timing as Record<string, number>;
    assert.ok(timing.handlerMs !== undefined && timing.handlerMs <= timing.totalMs, JSON.stringify(timing));
    assert.equal(warning.userId, user.id, 'the guard ran inside the request context');
  });
});
