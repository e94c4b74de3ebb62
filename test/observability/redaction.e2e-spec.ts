import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { LogCapture } from './log-capture';

describe('secrets in logs', () => {
  let t: TestApp;
  const logs = new LogCapture();
  before(async () => {
    t = await createTestApp({
      env: { LOG_LEVEL: 'trace', REFRESH_REUSE_GRACE_SECONDS: '0' },
      logDestination: logs,
    });
  });
  after(() => t.close());

  it('keeps passwords, tokens, cookies and Authorization headers out of every log line', async () => {
    const unique = randomBytes(6).toString('hex');
    const password = `Known passphrase ${unique}`;
    const newPassword = `Another known passphrase ${unique}`;
    const wrongPassword = `Wrong passphrase ${unique}`;
    const cookie = `cookie-secret-${unique}`;
    const bogusBearer = `bogus-bearer-${unique}`;
    const resetToken = `reset-token-${unique}`;
    const verificationToken = `verification-token-${unique}`;
    const email = uniqueEmail('redact');
    const secrets: Record<string, string> = { password, newPassword, wrongPassword, cookie, bogusBearer };
    secrets.resetToken = resetToken;
    secrets.verificationToken = verificationToken;

    assert.equal((await t.api.post('/auth/register', { email, password })).status, 201);
    const first = await t.api.post('/auth/login', { email, password }, { headers: { cookie: `sid=${cookie}` } });
    assert.equal(first.status, 200);
    secrets.access1 = first.body.accessToken;
    secrets.refresh1 = first.body.refreshToken;

    assert.equal((await t.api.get('/users/me', { token: first.body.accessToken })).status, 200);
    assert.equal((await t.api.get('/users/me', { token: bogusBearer })).status, 401);
    // A token where none belongs, in the query string, is still not printed.
    await t.api.get(`/users/me?access_token=${first.body.accessToken}&token=${resetToken}`);

    const refreshed = await t.api.post('/auth/refresh', { refreshToken: first.body.refreshToken });
    assert.equal(refreshed.status, 200);
    secrets.access2 = refreshed.body.accessToken;
    secrets.refresh2 = refreshed.body.refreshToken;

    const grant = await t.api.request('POST', '/auth/token', {
      form: { grant_type: 'password', username: email, password },
    });
    assert.equal(grant.status, 200);
    secrets.access3 = grant.body.access_token;
    secrets.refresh3 = grant.body.refresh_token;
    const refreshGrant = await t.api.request('POST', '/auth/token', {
      form: { grant_type: 'refresh_token', refresh_token: grant.body.refresh_token },
    });
    assert.equal(refreshGrant.status, 200);
    secrets.access4 = refreshGrant.body.access_token;
    secrets.refresh4 = refreshGrant.body.refresh_token;

    assert.equal((await t.api.post('/auth/login', { email, password: wrongPassword })).status, 401);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the grace window
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: first.body.refreshToken })).status, 401);

    // Flows carrying reset and verification tokens and a password change (whatever their answer).
    await t.api.post('/auth/password/reset', { token: resetToken, password: newPassword });
    await t.api.post('/auth/email/verify', { token: verificationToken });
    await t.api.post(
      '/auth/password/change',
      { currentPassword: password, newPassword },
      { token: refreshed.body.accessToken },
    );
    // A body that does not even parse still does not leak.
    await t.api.request('POST', '/auth/login', {
      raw: `{"email":"${email}","password":"${password}"`,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal((await t.api.post('/auth/logout', undefined, { token: refreshGrant.body.access_token })).status, 204);

    const text = logs.text;
    const lines = logs.lines;
    assert.ok(lines.length > 20, 'the flows were logged');
    assert.ok(
      lines.some((line) => line.msg === 'request body'),
      'request bodies were logged (at trace)',
    );
    assert.ok(text.includes('[REDACTED]'), 'secret fields were replaced, not dropped silently');
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(typeof value === 'string' && value.length > 8, `${name} was issued`);
      assert.ok(!text.includes(value), `${name} does not appear in the logs`);
    }
    assert.ok(!text.includes(unique), 'no fragment of any known secret appears');
  });
});
