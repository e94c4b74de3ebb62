// E-mail verification and the security notices (new device, session revoked, account approved),
// end to end through a real SMTP server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, login, registerAndLogin, registerUser, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { linkToken, MAIL_TIMEOUT_MS, SmtpSink } from './smtp-sink';

const APP_URL = 'https://accounts.example.test';

async function count(t: TestApp, userId: string, template: string): Promise<number> {
  const [row] = await query<{ n: string }>(
    t.databaseUrl,
    `SELECT count(*) AS n FROM mail_outbox WHERE user_id = $1 AND template = $2`,
    [userId, template],
  );
  return Number(row.n);
}

describe('e-mail verification and security notices', () => {
  let sink: SmtpSink;
  let t: TestApp;
  const ADMIN_EMAIL = uniqueEmail('admin');

  before(async () => {
    sink = await SmtpSink.create();
    t = await createTestApp({
      env: {
        SMTP_URL: sink.url,
        APP_URL,
        LOGIN_NOTIFY_NEW_DEVICE: 'true',
        REFRESH_REUSE_GRACE_SECONDS: '0',
        REQUIRE_APPROVAL: 'true',
        ADMIN_EMAIL,
        ADMIN_PASSWORD: GOOD_PASSWORD,
      },
    });
  });
  after(async () => {
    await t?.close();
    await sink?.stop();
  });

  async function approved(email: string): Promise<{ id: string; email: string; password: string }> {
    const user = await registerUser(t.api, { email });
    const admin = await login(t.api, { id: '', email: ADMIN_EMAIL, password: GOOD_PASSWORD });
    const res = await t.api.post(`/users/${user.id}/approve`, undefined, { token: admin.accessToken });
    assert.equal(res.status, 200, res.text);
    return user;
  }

  it('queues a verification mail at registration, with the link in both parts', async () => {
    const user = await registerUser(t.api);
    const mail = await sink.waitFor(user.email, 'verify-email');
    const token = linkToken(mail.text, APP_URL, 'verify-email');
    assert.ok(token);
    assert.equal(linkToken(mail.html, APP_URL, 'verify-email'), token);
  });

  it('verifies the address once with the mailed token; other tokens get 400 INVALID_TOKEN', async () => {
    const user = await approved(uniqueEmail('verify'));
    const token = linkToken((await sink.waitFor(user.email, 'verify-email')).text, APP_URL, 'verify-email')!;
    const madeUp = await t.api.post('/auth/email/verify', { token: 'not-a-token-we-ever-issued' });
    assert.equal(madeUp.status, 400);
    assert.equal(madeUp.body.code, 'INVALID_TOKEN');
    assert.equal((await t.api.post('/auth/email/verify', { token })).status, 204);
    const reused = await t.api.post('/auth/email/verify', { token });
    assert.equal(reused.status, 400);
    assert.equal(reused.body.code, 'INVALID_TOKEN');
    const session = await login(t.api, user);
    assert.equal((await t.api.get('/users/me', { token: session.accessToken })).body.emailVerified, true);
  });

  it('resends a verification link on request, and none once the address is verified', async () => {
    const user = await approved(uniqueEmail('resend'));
    const session = await login(t.api, user);
    await sink.waitFor(user.email, 'verify-email');
    const res = await t.api.post('/auth/email/resend', undefined, { token: session.accessToken });
    assert.equal(res.status, 202);
    await eventually(() => sink.to(user.email, 'verify-email').length === 2, {
      what: 'the second verification mail',
      timeoutMs: MAIL_TIMEOUT_MS,
    });
    const [first, second] = sink.to(user.email, 'verify-email').map((m) => linkToken(m.text, APP_URL, 'verify-email'));
    assert.notEqual(first, second);
    assert.equal((await t.api.post('/auth/email/verify', { token: second })).status, 204);
    assert.equal((await t.api.post('/auth/email/resend', undefined, { token: session.accessToken })).status, 202);
    assert.equal(await count(t, user.id, 'verify-email'), 2);
  });

  it('mails "account approved" when an administrator approves the account', async () => {
    const user = await approved(uniqueEmail('approved'));
    assert.equal(await count(t, user.id, 'account-approved'), 1, 'queued before the approval was answered');
    const mail = await sink.waitFor(user.email, 'account-approved');
    assert.ok(mail.text.includes(APP_URL));
    assert.ok(mail.html.length > 0);
  });

  it('mails a sign-in from a device not seen before, but not the first sign-in or a known device', async () => {
    const user = await approved(uniqueEmail('device'));
    const phone = { 'user-agent': 'LatchTest/1.0 (phone)' };
    const laptop = { 'user-agent': 'LatchTest/1.0 <script>alert(1)</script>' };
    await login(t.api, user, phone);
    await login(t.api, user, phone);
    assert.equal(await count(t, user.id, 'new-device'), 0);
    await login(t.api, user, laptop);
    // Queued before the login was answered, so that a crash right after it cannot lose the notice.
    assert.equal(await count(t, user.id, 'new-device'), 1);
    const mail = await sink.waitFor(user.email, 'new-device');
    assert.ok(mail.text.includes('LatchTest/1.0 <script>alert(1)</script>'), 'the text part names the device');
    assert.ok(!mail.html.includes('<script>'), 'the user agent is escaped in HTML');
    assert.ok(mail.html.includes('&#60;script&#62;'));
    assert.equal(await count(t, user.id, 'new-device'), 1);
  });

  it('mails "session revoked" once when an old refresh token is reused', async () => {
    const user = await approved(uniqueEmail('reuse'));
    const session = await login(t.api, user);
    const rotated = await t.api.post('/auth/refresh', { refreshToken: session.refreshToken });
    assert.equal(rotated.status, 200);
    const reuse = await t.api.post('/auth/refresh', { refreshToken: session.refreshToken });
    assert.equal(reuse.status, 401);
    assert.equal(await count(t, user.id, 'session-revoked'), 1, 'queued before the 401 was sent');
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: session.refreshToken })).status, 401);
    const mail = await sink.waitFor(user.email, 'session-revoked');
    assert.match(mail.text, /used again/);
    assert.equal((await t.api.post('/auth/refresh', { refreshToken: rotated.body.refreshToken })).status, 401);
    assert.equal(await count(t, user.id, 'session-revoked'), 1);
  });
});

describe('with EMAIL_VERIFICATION_REQUIRED=true', () => {
  let sink: SmtpSink;
  let t: TestApp;

  before(async () => {
    sink = await SmtpSink.create();
    t = await createTestApp({ env: { SMTP_URL: sink.url, APP_URL, EMAIL_VERIFICATION_REQUIRED: 'true' } });
  });
  after(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('answers 403 EMAIL_NOT_VERIFIED only after a correct password, and lets the user in once verified', async () => {
    const user = await registerUser(t.api);
    const wrong = await t.api.post('/auth/login', { email: user.email, password: 'not the password 123' });
    assert.equal(wrong.status, 401);
    const unverified = await t.api.post('/auth/login', { email: user.email, password: user.password });
    assert.equal(unverified.status, 403);
    assert.equal(unverified.body.code, 'EMAIL_NOT_VERIFIED');
    const token = linkToken((await sink.waitFor(user.email, 'verify-email')).text, APP_URL, 'verify-email');
    assert.equal((await t.api.post('/auth/email/verify', { token })).status, 204);
    await login(t.api, user);
  });

  it('counts a password reset as proof of the address', async () => {
    const user = await registerUser(t.api);
    assert.equal((await t.api.post('/auth/password/forgot', { email: user.email })).status, 202);
    const token = linkToken((await sink.waitFor(user.email, 'reset-password')).text, APP_URL, 'reset-password');
    const password = 'Recovered passphrase 2026';
    assert.equal((await t.api.post('/auth/password/reset', { token, password })).status, 204);
    await login(t.api, { ...user, password });
  });
});

describe('registration and its mail', () => {
  it('creates no account when the verification mail cannot be queued with it', async () => {
    const t = await createTestApp();
    try {
      await query(t.databaseUrl, `ALTER TABLE mail_outbox ADD CONSTRAINT refuse_all CHECK (false) NOT VALID`);
      const email = uniqueEmail('atomic');
      const res = await t.api.post('/auth/register', { email, password: GOOD_PASSWORD });
      assert.ok(res.status >= 500, `register answered ${res.status}`);
      const users = await query(t.databaseUrl, 'SELECT 1 FROM users WHERE email = $1', [email]);
      assert.equal(users.length, 0);
      await query(t.databaseUrl, `ALTER TABLE mail_outbox DROP CONSTRAINT refuse_all`);
      const user = await registerAndLogin(t.api, { email });
      assert.ok(user.accessToken);
    } finally {
      await t.close();
    }
  });
});
