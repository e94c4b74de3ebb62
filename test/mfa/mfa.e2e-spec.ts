// Multi-factor sign-in end to end (docs/security.md, "Multi-factor"): enrolment, sign-in with TOTP
// and recovery codes, replay and drift, the challenge's limits, disabling, new recovery codes, the
// admin reset, mail and audit, and the secret at rest. Codes come from the tests' own RFC 6238
// implementation (test/utils/totp.ts), not from the service's library.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, login, registerAndLogin, registerUser, uniqueEmail } from '../factories/users';
import { SmtpSink } from '../mail/smtp-sink';
import {
  createInstancesSharingRedis,
  createTestApp,
  SKIP_WITHOUT_REDIS,
  TEST_ENCRYPTION_KEY,
  TEST_JWT_SECRET,
  TestApp,
} from '../utils/create-test-app';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/configuration';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import type { Http, HttpResponse } from '../utils/http';
import { totpNow } from '../utils/totp';

interface Enrolled {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  secret: string;
  recoveryCodes: string[];
}

/** Codes are computed close to a 30-second boundary only at the cost of flakiness: wait it out. */
async function awayFromStepEdge(): Promise<void> {
  const intoStep = (Date.now() / 1000) % 30;
  if (intoStep > 26) await sleep((30 - intoStep) * 1000 + 300); // the window the test must wait out
}

async function enrol(api: Http, confirmOffset = 0): Promise<Enrolled> {
  const user = await registerAndLogin(api);
  const setup = await api.post('/auth/mfa/totp/setup', { password: user.password }, { token: user.accessToken });
  assert.equal(setup.status, 200, setup.text);
  await awayFromStepEdge();
  const confirm = await api.post(
    '/auth/mfa/totp/confirm',
    { code: totpNow(setup.body.secret, confirmOffset) },
    { token: user.accessToken },
  );
  assert.equal(confirm.status, 200, confirm.text);
  return { ...user, secret: setup.body.secret, recoveryCodes: confirm.body.recoveryCodes };
}

async function challenge(api: Http, user: { email: string; password: string }, headers?: Record<string, string>) {
  const res = await api.post('/auth/login', { email: user.email, password: user.password }, { headers });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.mfaRequired, true);
  return res.body.mfaToken as string;
}

function verify(api: Http, mfaToken: string, code: unknown, headers?: Record<string, string>): Promise<HttpResponse> {
  return api.post('/auth/mfa/verify', { mfaToken, code }, { headers });
}

function assertInvalidCode(res: HttpResponse): void {
  assert.equal(res.status, 401, res.text);
  assert.equal(res.body.code, 'INVALID_MFA_CODE');
}

describe('multi-factor sign-in', () => {
  let sink: SmtpSink;
  let t: TestApp;
  const ADMIN = { id: '', email: uniqueEmail('admin'), password: GOOD_PASSWORD };

  before(async () => {
    sink = await SmtpSink.create();
    t = await createTestApp({
      env: {
        SMTP_URL: sink.url,
        LOGIN_NOTIFY_NEW_DEVICE: 'true',
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      },
    });
  });
  after(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('enrols: setup needs the password and gives the secret, the otpauth URI and an SVG QR code', async () => {
    const user = await registerAndLogin(t.api);
    const wrong = await t.api.post('/auth/mfa/totp/setup', { password: 'not it at all' }, { token: user.accessToken });
    assert.equal(wrong.status, 400);
    const confirmFirst = await t.api.post('/auth/mfa/totp/confirm', { code: '123456' }, { token: user.accessToken });
    assert.equal(confirmFirst.status, 400, 'confirm without setup');
    const first = await t.api.post('/auth/mfa/totp/setup', { password: user.password }, { token: user.accessToken });
    const setup = await t.api.post('/auth/mfa/totp/setup', { password: user.password }, { token: user.accessToken });
    assert.equal(setup.status, 200, setup.text);
    assert.notEqual(setup.body.secret, first.body.secret, 'restarting setup replaces the pending secret');
    assert.match(setup.body.secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(setup.body.otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(decodeURIComponent(uri.pathname), `/Latch:${user.email}`);
    assert.equal(uri.searchParams.get('issuer'), 'Latch');
    assert.equal(uri.searchParams.get('secret'), setup.body.secret);
    assert.match(setup.body.qrCodeSvg, /^<svg[\s\S]*<\/svg>\s*$/);
    // The earlier secret's code no longer confirms; the current one does.
    await awayFromStepEdge();
    assertInvalidCode(
      await t.api.post('/auth/mfa/totp/confirm', { code: totpNow(first.body.secret) }, { token: user.accessToken }),
    );
    const me = await t.api.get('/users/me', { token: user.accessToken });
    assert.equal(me.body.mfaEnabled, false);
    const confirm = await t.api.post(
      '/auth/mfa/totp/confirm',
      { code: totpNow(setup.body.secret) },
      { token: user.accessToken },
    );
    assert.equal(confirm.status, 200, confirm.text);
    const codes: string[] = confirm.body.recoveryCodes;
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/); // 60 bits each
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).body.mfaEnabled, true);
    const again = await t.api.post('/auth/mfa/totp/setup', { password: user.password }, { token: user.accessToken });
    assert.equal(again.status, 400, 'setup while MFA is on');
    const mail = await sink.waitFor(user.email, 'mfa-enabled');
    assert.match(mail.text, /Two-step sign-in is on/);
  });

  it('describes both login answers in the OpenAPI document (a oneOf)', async () => {
    const doc = (await t.root.get('/docs-json')).body;
    const ok = doc.paths['/api/v1/auth/login'].post.responses['200'].content['application/json'].schema;
    const refs = (ok.oneOf as { $ref: string }[]).map((r) => r.$ref).sort();
    assert.deepEqual(refs, ['#/components/schemas/MfaChallengeResponse', '#/components/schemas/TokenPairResponse']);
    assert.ok(doc.paths['/api/v1/auth/mfa/verify'].post);
    assert.ok(doc.paths['/api/v1/users/{id}/mfa'].delete);
    assert.ok(doc.components.schemas.UserResponse.properties.mfaEnabled);
  });

  it('keeps the secret unreadable and the recovery codes hashed in the database', async () => {
    const user = await enrol(t.api);
    const [factor] = await query<{ secret: string }>(
      t.databaseUrl,
      'SELECT secret FROM mfa_factors WHERE user_id = $1',
      [user.id],
    );
    assert.match(factor!.secret, /^v1\./);
    assert.ok(!factor!.secret.includes(user.secret));
    const stored = await query<{ code_hash: string }>(
      t.databaseUrl,
      'SELECT code_hash FROM recovery_codes WHERE user_id = $1',
      [user.id],
    );
    assert.equal(stored.length, 10);
    const dump = JSON.stringify(stored);
    for (const code of user.recoveryCodes) {
      assert.ok(!dump.includes(code) && !dump.includes(code.replace(/-/g, '')));
    }
  });

  it('answers a correct password with a challenge, and a wrong one exactly like any wrong password', async () => {
    const user = await enrol(t.api);
    const res = await t.api.post('/auth/login', { email: user.email, password: user.password });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['expiresIn', 'methods', 'mfaRequired', 'mfaToken']);
    assert.equal(res.body.expiresIn, 300);
    assert.deepEqual(res.body.methods, ['totp', 'recovery_code']);
    const plain = await registerUser(t.api);
    const wrongMfa = await t.api.post('/auth/login', { email: user.email, password: 'wrong password!' });
    const wrongPlain = await t.api.post('/auth/login', { email: plain.email, password: 'wrong password!' });
    assert.equal(wrongMfa.status, 401);
    assert.equal(wrongMfa.status, wrongPlain.status);
    const strip = (body: Record<string, unknown>) => ({ ...body, instance: undefined, requestId: undefined });
    assert.deepEqual(strip(wrongMfa.body), strip(wrongPlain.body));
  });

  it('signs in with a TOTP code (same tokens, events and new-device notice as a login); a code works once', async () => {
    const user = await enrol(t.api);
    const mfaToken = await challenge(t.api, user, { 'user-agent': 'mfa-test-device/1' });
    await awayFromStepEdge();
    const code = totpNow(user.secret, 1); // the confirm used the current step
    const res = await verify(t.api, mfaToken, code, { 'user-agent': 'mfa-test-device/1' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.tokenType, 'Bearer');
    assert.equal(res.body.user.mfaEnabled, true);
    assert.equal((await t.api.get('/auth/verify', { token: res.body.accessToken })).status, 200);
    // the same code with a new challenge (a replay within its window), and the spent challenge
    assertInvalidCode(await verify(t.api, await challenge(t.api, user), code));
    assertInvalidCode(await verify(t.api, mfaToken, totpNow(user.secret, 1)));
    await eventually(
      async () =>
        (
          await query(t.databaseUrl, `SELECT 1 FROM auth_events WHERE user_id = $1 AND type = 'auth.login.succeeded'`, [
            user.id,
          ])
        ).length === 2,
      { what: 'the sign-in audited like a login (enrolment began with a plain one)' },
    );
    await sink.waitFor(user.email, 'new-device');
  });

  it('accepts one step of drift either way, and refuses two', async () => {
    const user = await enrol(t.api, -1); // confirmed with the previous step's code
    await awayFromStepEdge();
    const mfaToken = await challenge(t.api, user);
    assertInvalidCode(await verify(t.api, mfaToken, totpNow(user.secret, 2)));
    assertInvalidCode(await verify(t.api, mfaToken, totpNow(user.secret, -2)));
    assert.equal((await verify(t.api, mfaToken, totpNow(user.secret, 1))).status, 200);
  });

  it('lets exactly one of two concurrent sign-ins with the same code through', async () => {
    const user = await enrol(t.api);
    const [a, b] = [await challenge(t.api, user), await challenge(t.api, user)];
    await awayFromStepEdge();
    const code = totpNow(user.secret, 1);
    const results = await Promise.all([verify(t.api, a, code), verify(t.api, b, code)]);
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 401]);
  });

  it('signs in with each recovery code once, and mails how many are left', async () => {
    const user = await enrol(t.api);
    for (const [i, code] of user.recoveryCodes.entries()) {
      const res = await verify(t.api, await challenge(t.api, user), i % 2 ? code.toUpperCase() : code);
      assert.equal(res.status, 200, `recovery code ${i}: ${res.text}`);
      assertInvalidCode(await verify(t.api, await challenge(t.api, user), code));
    }
    await eventually(() => sink.to(user.email, 'recovery-code-used').length === 10, {
      what: 'ten recovery-code-used mails',
    });
    const texts = sink.to(user.email, 'recovery-code-used').map((m) => m.text);
    assert.ok(texts.some((text) => /You have 9 recovery codes left/.test(text)));
    assert.ok(texts.some((text) => /You have 1 recovery code left/.test(text)));
    assert.ok(texts.some((text) => /no recovery codes left/.test(text)));
    const audited = await query(
      t.databaseUrl,
      `SELECT 1 FROM auth_events WHERE user_id = $1 AND type = 'auth.mfa.recovery_code_used'`,
      [user.id],
    );
    assert.equal(audited.length, 10);
  });

  it('kills a challenge after five wrong codes, and refuses expired, spent and made-up tokens', async () => {
    const user = await enrol(t.api);
    const mfaToken = await challenge(t.api, user);
    for (let i = 0; i < 5; i++) assertInvalidCode(await verify(t.api, mfaToken, '000000'));
    await awayFromStepEdge();
    assertInvalidCode(await verify(t.api, mfaToken, totpNow(user.secret, 1)));
    assertInvalidCode(await verify(t.api, 'A'.repeat(43), '123456'));
    assertInvalidCode(await verify(t.api, 'made-up', '123456'));
    const expired = await challenge(t.api, user);
    await query(
      t.databaseUrl,
      `UPDATE mfa_challenges SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
      [user.id],
    );
    assertInvalidCode(await verify(t.api, expired, user.recoveryCodes[0]));
    const failures = await query(
      t.databaseUrl,
      `SELECT 1 FROM auth_events WHERE user_id = $1 AND type = 'auth.login.failed' AND reason = 'invalid_mfa_code'`,
      [user.id],
    );
    assert.ok(failures.length >= 5);
  });

  it("removes other users' abandoned challenges as new ones are made, so the table does not grow", async () => {
    const abandoned = await enrol(t.api);
    for (let i = 0; i < 12; i++) await challenge(t.api, abandoned);
    // The user never comes back; their challenges expire (the per-user pruning alone would keep them).
    await query(
      t.databaseUrl,
      `UPDATE mfa_challenges SET expires_at = now() - interval '1 minute' WHERE user_id = $1`,
      [abandoned.id],
    );
    const left = async () =>
      Number(
        (
          await query<{ n: string }>(t.databaseUrl, 'SELECT count(*) AS n FROM mfa_challenges WHERE user_id = $1', [
            abandoned.id,
          ])
        )[0]!.n,
      );
    assert.ok((await left()) >= 10, 'the abandoned challenges are there');
    const other = await enrol(t.api);
    for (let i = 0; i < 3; i++) await challenge(t.api, other);
    assert.equal(await left(), 0, "three new challenges took up to 30 expired ones of anyone's with them");
  });

  it('answers bad codes with 400 or 401, never 5xx', async () => {
    const user = await enrol(t.api);
    const mfaToken = await challenge(t.api, user);
    const bad: unknown[] = [
      '',
      '12345',
      '1234567',
      'x'.repeat(10_000),
      '١٢٣٤٥٦',
      '１２３４５６',
      123456,
      null,
      ['123456'],
    ];
    for (const code of bad) {
      const res = await verify(t.api, mfaToken, code);
      assert.ok([400, 401].includes(res.status), `${JSON.stringify(code).slice(0, 20)}: ${res.status}`);
      assert.ok(['VALIDATION_FAILED', 'INVALID_MFA_CODE'].includes(res.body.code), res.text);
    }
    const huge = await t.api.post('/auth/mfa/verify', { mfaToken: 'x'.repeat(10_000), code: '123456' });
    assert.ok([400, 401].includes(huge.status));
  });

  it('refuses the OAuth password grant for an account with MFA', async () => {
    const user = await enrol(t.api);
    const res = await t.api.request('POST', '/auth/token', {
      form: { grant_type: 'password', username: user.email, password: user.password },
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error, 'invalid_grant');
    assert.equal(res.body.error_description, 'multi-factor authentication required');
  });

  it('turns MFA off with the password and a code, and mails it', async () => {
    const user = await enrol(t.api);
    await awayFromStepEdge();
    const code = totpNow(user.secret, 1);
    const wrongPassword = await t.api.post(
      '/auth/mfa/totp/disable',
      { password: 'nope nope nope', code },
      { token: user.accessToken },
    );
    assert.equal(wrongPassword.status, 400);
    assertInvalidCode(
      await t.api.post(
        '/auth/mfa/totp/disable',
        { password: user.password, code: '000000' },
        { token: user.accessToken },
      ),
    );
    const res = await t.api.post(
      '/auth/mfa/totp/disable',
      { password: user.password, code },
      { token: user.accessToken },
    );
    assert.equal(res.status, 204, res.text);
    assert.equal((await t.api.get('/users/me', { token: user.accessToken })).body.mfaEnabled, false);
    const signedIn = await t.api.post('/auth/login', { email: user.email, password: user.password });
    assert.ok(signedIn.body.accessToken, 'the password alone signs in again');
    await sink.waitFor(user.email, 'mfa-disabled');
    const rows = await query(t.databaseUrl, 'SELECT 1 FROM mfa_factors WHERE user_id = $1', [user.id]);
    assert.equal(rows.length, 0);
  });

  it('regenerates recovery codes with the password and a code; the old ones stop working', async () => {
    const user = await enrol(t.api);
    await awayFromStepEdge();
    const res = await t.api.post(
      '/auth/mfa/recovery-codes',
      { password: user.password, code: totpNow(user.secret, 1) },
      { token: user.accessToken },
    );
    assert.equal(res.status, 200, res.text);
    const fresh: string[] = res.body.recoveryCodes;
    assert.equal(fresh.length, 10);
    assertInvalidCode(await verify(t.api, await challenge(t.api, user), user.recoveryCodes[0]));
    assert.equal((await verify(t.api, await challenge(t.api, user), fresh[0])).status, 200);
    const audited = await query(
      t.databaseUrl,
      `SELECT 1 FROM auth_events WHERE user_id = $1 AND type = 'auth.mfa.recovery_codes_regenerated'`,
      [user.id],
    );
    assert.equal(audited.length, 1);
  });

  it('lets an admin turn a user’s MFA off (lost device), audited and mailed', async () => {
    const user = await enrol(t.api);
    const admin = await login(t.api, ADMIN);
    const notAdmin = await t.api.delete(`/users/${user.id}/mfa`, { token: user.accessToken });
    assert.equal(notAdmin.status, 403);
    const res = await t.api.delete(`/users/${user.id}/mfa`, { token: admin.accessToken });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, user.id);
    assert.equal(res.body.mfaEnabled, false);
    assert.equal((await t.api.delete(`/users/not-a-uuid/mfa`, { token: admin.accessToken })).status, 404);
    const signedIn = await t.api.post('/auth/login', { email: user.email, password: user.password });
    assert.ok(signedIn.body.accessToken);
    const mail = await sink.waitFor(user.email, 'mfa-disabled');
    assert.match(mail.text, /administrator/);
    const [row] = await query<{ actor_id: string }>(
      t.databaseUrl,
      `SELECT actor_id FROM auth_events WHERE user_id = $1 AND type = 'auth.mfa.disabled'`,
      [user.id],
    );
    assert.ok(row);
    const me = await t.api.get(`/users/${user.id}`, { token: admin.accessToken });
    assert.equal(me.body.mfaEnabled, false);
  });
});

describe('multi-factor sign-in and login protection', () => {
  const ENV = { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_REGISTER: '1000', TRUST_PROXY: '127.0.0.1' };
  let address = 0;
  const fresh = () => {
    address += 1;
    return { 'x-forwarded-for': `198.51.${Math.floor(address / 250)}.${(address % 250) + 1}` };
  };

  /**
   * One challenge (a correct password: counted, not cleared) and four wrong codes from ever-new
   * addresses make five attempts on the account: the right code must then wait.
   */
  async function assertSlowedDown(apis: Http[], user: Enrolled): Promise<void> {
    await awayFromStepEdge();
    const mfaToken = await challenge(apis[0]!, user, fresh());
    for (let i = 0; i < 4; i++)
      assertInvalidCode(await verify(apis[(i + 1) % apis.length]!, mfaToken, '000000', fresh()));
    const res = await verify(apis[apis.length - 1]!, mfaToken, totpNow(user.secret, 1), fresh());
    assert.equal(res.status, 429, res.text);
    assert.equal(res.body.code, 'RATE_LIMITED');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
  }

  it('counts wrong codes per account, and a correct password does not reset the count', async () => {
    const t = await createTestApp({ env: ENV });
    try {
      await assertSlowedDown([t.api], await enrol(t.api));
    } finally {
      await t.close();
    }
  });

  it('slows guesses down across instances sharing Redis', { skip: SKIP_WITHOUT_REDIS }, async () => {
    const [a, b] = await createInstancesSharingRedis(ENV);
    try {
      await assertSlowedDown([a.api, b.api], await enrol(a.api));
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('multi-factor secrets and ENCRYPTION_KEY', () => {
  const OTHER_KEY = Buffer.alloc(32, 'another latch test encryption key').toString('base64');

  it('refuses to start with a key that does not open the stored secrets, and re-seals after a rotation', async () => {
    // HS256: no managed signing keys in this database, whose own check would refuse the start first.
    const first = await createTestApp({ env: { JWT_ALGORITHM: 'HS256' } });
    const user = await enrol(first.api);
    // Booted by hand (not createTestApp) so that the instance that refuses can still be closed.
    const refused = await createApp(
      loadConfig({
        NODE_ENV: 'test',
        DATABASE_URL: first.databaseUrl,
        DATA_DIR: first.dataDir,
        JWT_ALGORITHM: 'HS256',
        JWT_ACCESS_SECRET: TEST_JWT_SECRET,
        ENCRYPTION_KEY: OTHER_KEY,
        LOG_LEVEL: 'fatal',
        RATE_LIMIT_ENABLED: 'false',
      }),
    );
    try {
      await assert.rejects(refused.init(), /ENCRYPTION_KEY does not open the stored TOTP secrets/);
    } finally {
      await refused.close().catch(() => undefined);
    }
    const rotated = await createTestApp({
      databaseUrl: first.databaseUrl,
      env: { JWT_ALGORITHM: 'HS256', ENCRYPTION_KEY: `${OTHER_KEY},${TEST_ENCRYPTION_KEY}` },
    });
    try {
      const [before] = await query<{ secret: string }>(rotated.databaseUrl, 'SELECT secret FROM mfa_factors');
      await awayFromStepEdge();
      const res = await verify(rotated.api, await challenge(rotated.api, user), totpNow(user.secret, 1));
      assert.equal(res.status, 200, res.text);
      const [after] = await query<{ secret: string }>(rotated.databaseUrl, 'SELECT secret FROM mfa_factors');
      assert.notEqual(after!.secret.split('.')[1], before!.secret.split('.')[1], 'sealed again under the new key');
    } finally {
      await rotated.close();
      await first.close();
    }
  });
});
