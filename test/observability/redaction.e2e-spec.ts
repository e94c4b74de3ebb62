import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { login, registerUser, uniqueEmail } from '../factories/users';
import { linkToken, SmtpSink } from '../mail/smtp-sink';
import { SecretBox } from '../../src/modules/crypto/secret-box.service';
import { createTestApp, TEST_ENCRYPTION_KEY, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { LogCapture } from './log-capture';

const APP_URL = 'https://app.example.test';

describe('secrets in logs', () => {
  let t: TestApp;
  let sink: SmtpSink;
  const logs = new LogCapture();
  before(async () => {
    sink = await SmtpSink.create();
    t = await createTestApp({
      env: { LOG_LEVEL: 'trace', REFRESH_REUSE_GRACE_SECONDS: '0', SMTP_URL: sink.url, APP_URL },
      logDestination: logs,
    });
  });
  after(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('keeps passwords, tokens, cookies and Authorization headers out of every log line', async () => {
    const unique = randomBytes(6).toString('hex');
    const password = `Known passphrase ${unique}`;
    const newPassword = `Another known passphrase ${unique}`;
    const wrongPassword = `Wrong passphrase ${unique}`;
    const cookie = `cookie-secret-${unique}`;
    const bogusBearer = `bogus-bearer-${unique}`;
    const fakeResetToken = `reset-token-${unique}`;
    const email = uniqueEmail('redact');
    const secrets: Record<string, string> = { password, newPassword, wrongPassword, cookie, bogusBearer };
    secrets.fakeResetToken = fakeResetToken;

    assert.equal((await t.api.post('/auth/register', { email, password })).status, 201);
    const first = await t.api.post('/auth/login', { email, password }, { headers: { cookie: `sid=${cookie}` } });
    assert.equal(first.status, 200);
    secrets.access1 = first.body.accessToken;
    secrets.refresh1 = first.body.refreshToken;

    assert.equal((await t.api.get('/users/me', { token: first.body.accessToken })).status, 200);
    assert.equal((await t.api.get('/users/me', { token: bogusBearer })).status, 401);
    // A token where none belongs, in the query string, is still not printed.
    await t.api.get(`/users/me?access_token=${first.body.accessToken}&token=${fakeResetToken}`);

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
    // Past the zero-second grace window: any later request is, once the clock (ms) has moved on.
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: first.body.refreshToken })).status, 401);

    // The e-mail verification and password reset flows, with the real tokens from the mails.
    const verifyMail = await sink.waitFor(email, 'verify-email');
    secrets.verificationToken = linkToken(verifyMail.text, APP_URL, 'verify-email') ?? '';
    assert.equal((await t.api.post('/auth/email/verify', { token: secrets.verificationToken })).status, 204);
    assert.equal(
      (await t.api.post('/auth/password/reset', { token: fakeResetToken, password: newPassword })).status,
      400,
    );
    assert.equal((await t.api.post('/auth/password/forgot', { email })).status, 202);
    const resetMail = await sink.waitFor(email, 'reset-password');
    secrets.resetToken = linkToken(resetMail.text, APP_URL, 'reset-password') ?? '';
    assert.equal(
      (await t.api.post('/auth/password/reset', { token: secrets.resetToken, password: newPassword })).status,
      204,
    );
    const again = await t.api.post('/auth/login', { email, password: newPassword });
    assert.equal(again.status, 200);
    secrets.access5 = again.body.accessToken;
    secrets.refresh5 = again.body.refreshToken;
    const change = await t.api.post(
      '/auth/password/change',
      { currentPassword: newPassword, newPassword: password },
      { token: again.body.accessToken },
    );
    assert.equal(change.status, 204);
    // A body that does not even parse still does not leak.
    await t.api.request('POST', '/auth/login', {
      raw: `{"email":"${email}","password":"${password}"`,
      headers: { 'content-type': 'application/json' },
    });
    // A real API key: created, used, presented where it is refused, and echoed in a query string.
    const created = await t.api.post(
      '/api-keys',
      { name: 'redaction', scopes: ['profile'] },
      { token: again.body.accessToken },
    );
    assert.equal(created.status, 201);
    secrets.apiKey = created.body.key;
    assert.equal((await t.api.get('/users/me', { headers: { 'x-api-key': created.body.key } })).status, 200);
    assert.equal((await t.api.get('/api-keys', { headers: { 'x-api-key': created.body.key } })).status, 403);
    await t.api.get(`/users/me?api_key=${created.body.key}`);
    assert.equal((await t.api.post('/auth/logout', undefined, { token: again.body.accessToken })).status, 204);

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

  it('keeps signing-key material out of the logs and the answers', async () => {
    const user = await registerUser(t.api);
    await query(t.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [user.id]);
    const admin = await login(t.api, user);
    const rotated = await t.api.post('/keys/rotate', {}, { token: admin.accessToken });
    assert.equal(rotated.status, 200);
    const next = rotated.body.find((k: { state: string }) => k.state === 'next');
    assert.equal((await t.api.post(`/keys/${next.kid}/revoke`, {}, { token: admin.accessToken })).status, 200);
    const answers = JSON.stringify([
      rotated.body,
      (await t.api.get('/keys', { token: admin.accessToken })).body,
      (await t.root.get('/.well-known/jwks.json')).body,
    ]);
    const box = new SecretBox([Buffer.from(TEST_ENCRYPTION_KEY, 'base64')]);
    const rows = await query<{ kid: string; private_sealed: string }>(
      t.databaseUrl,
      'SELECT kid, private_sealed FROM signing_keys',
    );
    assert.ok(rows.length >= 2);
    for (const row of rows) {
      const d = (JSON.parse(box.open(row.private_sealed, `signing_keys.private:${row.kid}`)) as { d: string }).d;
      assert.ok(d.length > 20);
      assert.ok(!logs.text.includes(d), `the private part of ${row.kid} is not logged`);
      assert.ok(!answers.includes(d), `the private part of ${row.kid} is not answered`);
      assert.ok(!logs.text.includes(row.private_sealed), 'the sealed form is not logged either');
    }
  });
});
