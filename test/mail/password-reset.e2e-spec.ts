// Password reset and change over HTTP, with the mail received by a real SMTP server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, login, registerAndLogin, registerUser, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { linkToken, MAIL_TIMEOUT_MS, SmtpSink } from './smtp-sink';

const APP_URL = 'https://app.example.test';
const NEW_PASSWORD = 'A brand new passphrase 77';

describe('password reset and change', () => {
  let sink: SmtpSink;
  let t: TestApp;

  before(async () => {
    sink = await SmtpSink.create();
    t = await createTestApp({ env: { SMTP_URL: sink.url, APP_URL, PASSWORD_RESET_SWEEP_MS: '200' } });
  });
  after(async () => {
    await t?.close();
    await sink?.stop();
  });

  async function requestReset(email: string, headers?: Record<string, string>): Promise<string> {
    const before = sink.to(email, 'reset-password').length;
    const res = await t.api.post('/auth/password/forgot', { email }, { headers });
    assert.equal(res.status, 202);
    await eventually(() => sink.to(email, 'reset-password').length > before, {
      what: `a new reset mail for ${email}`,
      timeoutMs: MAIL_TIMEOUT_MS,
    });
    const mail = sink.to(email, 'reset-password').at(-1)!;
    const token = linkToken(mail.text, APP_URL, 'reset-password');
    assert.ok(token, 'the text part carries the reset link');
    return token;
  }

  it('answers forgot-password with the same 202 body for known and unknown addresses', async () => {
    const user = await registerUser(t.api);
    const known = await t.api.post('/auth/password/forgot', { email: user.email });
    const unknown = await t.api.post('/auth/password/forgot', { email: uniqueEmail('nobody') });
    assert.equal(known.status, 202);
    assert.equal(unknown.status, 202);
    assert.deepEqual(known.body, unknown.body);
    assert.equal(typeof known.body.message, 'string');
  });

  it('mails a reset link built from APP_URL in both parts, whatever Host the request names', async () => {
    const user = await registerUser(t.api);
    const token = await requestReset(user.email, {
      host: 'evil.example',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'http',
    });
    const mail = sink.to(user.email, 'reset-password').at(-1)!;
    assert.equal(mail.template, 'reset-password');
    assert.ok(mail.text.includes(`${APP_URL}/reset-password?token=${token}`));
    assert.ok(mail.html.includes(`${APP_URL}/reset-password?token=${token}`));
    assert.equal(linkToken(mail.html, APP_URL, 'reset-password'), token);
    assert.ok(!mail.raw.includes('evil.example'));
    const [stored] = await query<{ n: string }>(
      t.databaseUrl,
      `SELECT count(*) AS n FROM one_time_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
      [token],
    );
    assert.equal(stored.n, '1', 'the token is stored as its SHA-256 hash');
  });

  it('resets the password once, ends every session and mails "password changed"', async () => {
    const user = await registerAndLogin(t.api);
    const token = await requestReset(user.email);

    const reset = await t.api.post('/auth/password/reset', { token, password: NEW_PASSWORD });
    assert.equal(reset.status, 204);

    const again = await t.api.post('/auth/password/reset', { token, password: 'Yet another passphrase 12' });
    assert.equal(again.status, 400);
    assert.equal(again.body.code, 'INVALID_TOKEN');

    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 401);
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: user.refreshToken })).status, 401);
    assert.equal((await t.api.post('/auth/login', { email: user.email, password: GOOD_PASSWORD })).status, 401);
    await login(t.api, { ...user, password: NEW_PASSWORD });

    const changed = await sink.waitFor(user.email, 'password-changed');
    assert.match(changed.text, /reset/);
    assert.ok(changed.html.length > 0);
    const secrets = await query<{ secret: string | null }>(
      t.databaseUrl,
      `SELECT secret FROM mail_outbox WHERE user_id = $1 AND status = 'sent'`,
      [user.id],
    );
    assert.ok(secrets.length >= 2 && secrets.every((row) => row.secret === null), 'sent mail keeps no token');
  });

  it('refuses made-up and expired reset tokens with 400 INVALID_TOKEN', async () => {
    const madeUp = await t.api.post('/auth/password/reset', { token: 'x'.repeat(43), password: NEW_PASSWORD });
    assert.equal(madeUp.status, 400);
    assert.equal(madeUp.body.code, 'INVALID_TOKEN');

    const user = await registerUser(t.api);
    const token = await requestReset(user.email);
    await query(
      t.databaseUrl,
      `UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
      [user.id],
    );
    const expired = await t.api.post('/auth/password/reset', { token, password: NEW_PASSWORD });
    assert.equal(expired.status, 400);
    assert.equal(expired.body.code, 'INVALID_TOKEN');
  });

  it('voids an earlier reset link when a newer one is asked for', async () => {
    const user = await registerUser(t.api);
    const first = await requestReset(user.email);
    const second = await requestReset(user.email);
    assert.notEqual(first, second);
    const old = await t.api.post('/auth/password/reset', { token: first, password: NEW_PASSWORD });
    assert.equal(old.status, 400);
    assert.equal(old.body.code, 'INVALID_TOKEN');
    assert.equal((await t.api.post('/auth/password/reset', { token: second, password: NEW_PASSWORD })).status, 204);
  });

  it('spends nothing when the mailed link is fetched with GET, as a mail scanner does', async () => {
    const user = await registerUser(t.api);
    const token = await requestReset(user.email);
    const scanned = [
      await t.root.get(`/reset-password?token=${token}`),
      await t.api.get(`/auth/password/reset?token=${token}`),
      await t.api.get(`/reset-password?token=${token}`),
    ];
    for (const res of scanned) assert.ok(res.status >= 400 && res.status < 500, `GET answered ${res.status}`);
    assert.equal((await t.api.post('/auth/password/reset', { token, password: NEW_PASSWORD })).status, 204);
  });

  it('silently limits reset mail to 3 an hour per address asked for', async () => {
    const user = await registerUser(t.api);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await t.api.post('/auth/password/forgot', { email: user.email }));
    assert.deepEqual(
      answers.map((a) => a.status),
      [202, 202, 202, 202],
    );
    assert.deepEqual(answers[3].body, answers[0].body);
    // Requests are turned into mail after the response: wait until all four have been processed.
    const pending = async () =>
      (await query<{ n: string }>(t.databaseUrl, `SELECT count(*) AS n FROM password_reset_requests`))[0].n;
    await eventually(async () => (await pending()) === '0', { what: 'every reset request to be processed' });
    const [queued] = await query<{ n: string }>(
      t.databaseUrl,
      `SELECT count(*) AS n FROM mail_outbox WHERE user_id = $1 AND template = 'reset-password'`,
      [user.id],
    );
    assert.equal(queued.n, '3');
  });

  it('sends the reset mail for a request whose processing was cut off by a crash', async () => {
    const user = await registerUser(t.api);
    // What a process killed right after answering leaves behind: the recorded request only.
    await query(
      t.databaseUrl,
      `INSERT INTO password_reset_requests (address, requested_at) VALUES ($1, now() - interval '1 minute')`,
      [user.email],
    );
    // The app sweeps every 200 ms (PASSWORD_RESET_SWEEP_MS); then the mail is delivered.
    await eventually(() => sink.to(user.email, 'reset-password').length > 0, {
      what: 'the sweep to send the reset mail',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const [left] = await query<{ n: string }>(t.databaseUrl, `SELECT count(*) AS n FROM password_reset_requests`);
    assert.equal(left.n, '0');
  });

  it('refuses a reset to a password the rules forbid, without spending the token', async () => {
    const user = await registerUser(t.api);
    const token = await requestReset(user.email);
    const weak = await t.api.post('/auth/password/reset', { token, password: 'password' });
    assert.equal(weak.status, 400);
    assert.equal(weak.body.code, 'VALIDATION_FAILED');
    assert.equal((await t.api.post('/auth/password/reset', { token, password: NEW_PASSWORD })).status, 204);
  });

  it('changes the password with the current one, ending only the other sessions', async () => {
    const user = await registerAndLogin(t.api);
    const other = await login(t.api, user);

    const wrong = await t.api.post(
      '/auth/password/change',
      { currentPassword: 'not my password at all', newPassword: NEW_PASSWORD },
      { token: user.accessToken },
    );
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.errors[0].field, 'currentPassword');

    const res = await t.api.post(
      '/auth/password/change',
      { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD },
      { token: user.accessToken },
    );
    assert.equal(res.status, 204);
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);
    assert.equal((await t.api.get('/users/me', { token: other.accessToken })).status, 401);
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: other.refreshToken })).status, 401);
    await login(t.api, { ...user, password: NEW_PASSWORD });
    const changed = await sink.waitFor(user.email, 'password-changed');
    assert.match(changed.text, /changed/);
  });
});
