// Per-account sign-in protection keyed by the account (issue 12, items 9, 10, 12 and 15): whichever
// identifier names the account, the password grant and the password change count on the same
// counter; a password reset clears it; failed sign-ins for unknown names leave a keyed hash of the
// name tried in the audit trail.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, login, registerUser, uniqueEmail } from '../factories/users';
import { linkToken, MAIL_TIMEOUT_MS, SmtpSink } from '../mail/smtp-sink';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import type { Http, HttpResponse } from '../utils/http';

const APP_URL = 'https://app.example.test';
const ENV = { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_REGISTER: '1000', TRUST_PROXY: '127.0.0.1', APP_URL };
const WRONG = 'wrong password!';

let address = 0;
/** A fresh client address (through the trusted local proxy) for each request: a stuffing botnet. */
function fresh(): Record<string, string> {
  address += 1;
  return { 'x-forwarded-for': `203.0.${Math.floor(address / 250)}.${(address % 250) + 1}` };
}

function signIn(api: Http, email: string, password: string): Promise<HttpResponse> {
  return api.post('/auth/login', { email, password }, { headers: fresh() });
}

function passwordGrant(api: Http, username: string, password: string, headers = fresh()): Promise<HttpResponse> {
  return api.request('POST', '/auth/token', { form: { grant_type: 'password', username, password }, headers });
}

function assertRefused(res: HttpResponse): void {
  assert.equal(res.status, 429, res.text);
  assert.equal(res.body.code, 'RATE_LIMITED');
  assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After is set');
}

function suffix(): string {
  return randomBytes(4).toString('hex');
}

describe('login protection counts per account', () => {
  let sink: SmtpSink;
  let t: TestApp;
  before(async () => {
    sink = await SmtpSink.create();
    t = await createTestApp({ env: { ...ENV, SMTP_URL: sink.url } });
  });
  after(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('refuses the username once the e-mail address has used up the free failures', async () => {
    const username = `ada_${suffix()}`;
    const user = await registerUser(t.api, { username });
    for (let i = 1; i <= 5; i++) assert.equal((await signIn(t.api, user.email, WRONG)).status, 401);
    assertRefused(await passwordGrant(t.api, username, user.password));
    assertRefused(await passwordGrant(t.api, username.toUpperCase(), user.password));
  });

  it('shares the counter between spellings that find the same account (case and Unicode variants)', async () => {
    const tag = suffix();
    // PostgreSQL's lower() makes "İ" an "i"; JavaScript's toLowerCase() makes it "i̇" (i + U+0307).
    const user = await registerUser(t.api, { email: `İnes-${tag}@example.com` });
    const plain = `ines-${tag}@example.com`;
    assert.equal((await signIn(t.api, plain, user.password)).status, 200, 'the plain spelling finds the account');
    for (let i = 1; i <= 5; i++) assert.equal((await signIn(t.api, plain, WRONG)).status, 401);
    assertRefused(await signIn(t.api, user.email, user.password));
    assertRefused(await signIn(t.api, `INES-${tag}@EXAMPLE.COM`, user.password));
  });

  it('answers unknown names exactly like known ones, variants included', async () => {
    const run = async (plain: string, variant: string): Promise<number[]> => {
      const statuses: number[] = [];
      for (let i = 1; i <= 5; i++) statuses.push((await signIn(t.api, plain, WRONG)).status);
      statuses.push((await signIn(t.api, variant, WRONG)).status);
      statuses.push((await passwordGrant(t.api, plain.toUpperCase(), WRONG)).status);
      return statuses;
    };
    const known = suffix();
    await registerUser(t.api, { email: `İrem-${known}@example.com` });
    const unknown = suffix();
    const a = await run(`irem-${known}@example.com`, `İrem-${known}@example.com`);
    const b = await run(`irem-${unknown}@example.com`, `İrem-${unknown}@example.com`);
    assert.deepEqual(a, [401, 401, 401, 401, 401, 429, 429]);
    assert.deepEqual(b, a);
  });

  it('counts wrong current passwords at password change, refuses with 429 once over, and audits them', async () => {
    const user = await login(t.api, await registerUser(t.api));
    const change = (currentPassword: string) =>
      t.api.post(
        '/auth/password/change',
        { currentPassword, newPassword: 'A brand new passphrase 77' },
        { token: user.accessToken, headers: fresh() },
      );
    for (let i = 1; i <= 5; i++) {
      const res = await change(WRONG);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.code, 'VALIDATION_FAILED');
    }
    assertRefused(await change(user.password));
    // The same counter as sign-in: the stolen token has used up the account's budget there too.
    assertRefused(await signIn(t.api, user.email, user.password));
    const rows = await query<{ outcome: string; reason: string }>(
      t.databaseUrl,
      `SELECT outcome, reason FROM auth_events WHERE user_id = $1 AND type = 'auth.password.check_failed'`,
      [user.id],
    );
    assert.ok(rows.every((r) => r.outcome === 'failure'));
    const wrong = rows.filter((r) => r.reason === 'invalid_credentials').length;
    assert.equal(wrong, 5, 'one audit row per wrong current password');
    assert.equal(rows.filter((r) => r.reason === 'locked').length, 1, 'and one for the refusal');
  });

  it('lets the owner back in at once after a password reset by e-mail', async () => {
    const user = await registerUser(t.api);
    for (let i = 1; i <= 5; i++) assert.equal((await signIn(t.api, user.email, WRONG)).status, 401);
    assertRefused(await signIn(t.api, user.email, user.password));

    const before = sink.to(user.email, 'reset-password').length;
    assert.equal((await t.api.post('/auth/password/forgot', { email: user.email }, { headers: fresh() })).status, 202);
    await eventually(() => sink.to(user.email, 'reset-password').length > before, {
      what: `a reset mail for ${user.email}`,
      timeoutMs: MAIL_TIMEOUT_MS,
    });
    const token = linkToken(sink.to(user.email, 'reset-password').at(-1)!.text, APP_URL, 'reset-password');
    assert.ok(token);
    const newPassword = 'A brand new passphrase 78';
    const reset = await t.api.post('/auth/password/reset', { token, password: newPassword }, { headers: fresh() });
    assert.equal(reset.status, 204, reset.text);
    assert.equal((await signIn(t.api, user.email, newPassword)).status, 200);
  });

  it('audits a failed sign-in for an unknown name with a keyed hash of the name, never the name', async () => {
    const name = uniqueEmail('stuffed');
    const agent = `stuffing-probe-${suffix()}`;
    for (const spelling of [name, name.toUpperCase()]) {
      const res = await t.api.post(
        '/auth/login',
        { email: spelling, password: GOOD_PASSWORD },
        { headers: { ...fresh(), 'user-agent': agent } },
      );
      assert.equal(res.status, 401);
    }
    const rows = await query<{ user_id: string | null; details: Record<string, unknown> | null }>(
      t.databaseUrl,
      `SELECT user_id, details FROM auth_events WHERE user_agent = $1 AND type = 'auth.login.failed' ORDER BY id`,
      [agent],
    );
    assert.equal(rows.length, 2);
    const [first, second] = rows.map((r) => r.details?.identifierHash);
    assert.equal(typeof first, 'string');
    assert.equal(first, second, 'two spellings of one name leave the same trace');
    assert.ok(rows.every((r) => r.user_id === null));
    const stored = JSON.stringify(rows);
    assert.ok(!stored.toLowerCase().includes(name.split('@')[0]), 'the name is not stored in clear');
    for (const plain of [name, name.toLowerCase()]) {
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        assert.notEqual(first, createHash('sha256').update(plain).digest(encoding), 'the hash is keyed');
      }
    }
  });
});

describe('per-address budgets of the token endpoint', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: ENV });
  });
  after(() => t?.close());

  it('counts password grants in the login budget (10/min), not the token budget', async () => {
    const from = fresh();
    for (let i = 1; i <= 10; i++) {
      const res = await passwordGrant(t.api, uniqueEmail('guess'), WRONG, from);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.headers.get('ratelimit-policy'), '"login";q=10;w=60');
    }
    assertRefused(await passwordGrant(t.api, uniqueEmail('guess'), WRONG, from));
    // Login and the password grant draw on one budget.
    assertRefused(await t.api.post('/auth/login', { email: uniqueEmail('guess'), password: WRONG }, { headers: from }));
    // The refresh_token grant stays on the token budget.
    const refresh = await t.api.request('POST', '/auth/token', {
      form: { grant_type: 'refresh_token', refresh_token: 'not-a-real-token' },
      headers: from,
    });
    assert.equal(refresh.status, 400, refresh.text);
    assert.equal(refresh.headers.get('ratelimit-policy'), '"token";q=20;w=60');
  });

  it('spends the login budget on sign-ins before the password grant can use it', async () => {
    const from = fresh();
    for (let i = 1; i <= 10; i++) {
      const res = await t.api.post('/auth/login', { email: uniqueEmail('guess'), password: WRONG }, { headers: from });
      assert.equal(res.status, 401, res.text);
    }
    assertRefused(await passwordGrant(t.api, uniqueEmail('guess'), WRONG, from));
  });
});
