// The tokens reset and verification mails carry, in the outbox: sealed with ENCRYPTION_KEY while
// they wait (never in clear in the table), erased when the message is parked or the token is spent,
// and still opening after a key rotation ("new,old").
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/configuration';
import { dataSourceOptions, MIGRATIONS } from '../../src/database/data-source';
import { registerUser, TestUser, uniqueEmail } from '../factories/users';
import { SecretBox } from '../../src/modules/crypto/secret-box.service';
import type { MailTemplateName } from '../../src/modules/mail/mail-outbox.entity';
import { outboxSecretContext } from '../../src/modules/mail/outbox-secret';
import { createTestApp, TEST_ENCRYPTION_KEY, TestApp } from '../utils/create-test-app';
import { createDatabase, dropDatabase, query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { linkToken, MAIL_TIMEOUT_MS, SmtpSink } from './smtp-sink';

const APP_URL = 'https://latch.example.test';
const NEW_PASSWORD = 'A brand new passphrase 77';

interface OutboxRow {
  id: string;
  template: MailTemplateName;
  recipient: string;
  status: string;
  attempts: number;
  secret: string | null;
  last_error: string | null;
}

async function outboxRow(databaseUrl: string, userId: string, template: MailTemplateName): Promise<OutboxRow> {
  const rows = await query<OutboxRow>(
    databaseUrl,
    `SELECT id, template, recipient, status, attempts, secret, last_error FROM mail_outbox
      WHERE user_id = $1 AND template = $2 ORDER BY created_at DESC LIMIT 1`,
    [userId, template],
  );
  assert.ok(rows[0], `a ${template} message for ${userId}`);
  return rows[0];
}

/** Waits for the user's message of this template to be queued and tried once (SMTP down). */
async function triedOnce(databaseUrl: string, userId: string, template: MailTemplateName): Promise<OutboxRow> {
  await eventually(
    async () => {
      const rows = await query<{ attempts: number }>(
        databaseUrl,
        `SELECT attempts FROM mail_outbox WHERE user_id = $1 AND template = $2 AND status = 'pending'`,
        [userId, template],
      );
      return (rows[0]?.attempts ?? 0) >= 1;
    },
    { what: `a tried, pending ${template} message`, timeoutMs: MAIL_TIMEOUT_MS },
  );
  return outboxRow(databaseUrl, userId, template);
}

/** The token in a row, opened as the service would (what an attacker without the key cannot do). */
function openRow(row: OutboxRow, keys = TEST_ENCRYPTION_KEY): string {
  const box = new SecretBox(keys.split(',').map((key) => Buffer.from(key, 'base64')));
  return box.open(row.secret!, outboxSecretContext(row));
}

async function tokenHashCount(databaseUrl: string, token: string): Promise<number> {
  const [row] = await query<{ n: string }>(
    databaseUrl,
    `SELECT count(*) AS n FROM one_time_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
    [token],
  );
  return Number(row?.n);
}

interface WaitingMails {
  sink: SmtpSink;
  t: TestApp;
  user: TestUser;
  verify: OutboxRow;
  reset: OutboxRow;
}

describe('tokens in the mail outbox', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  async function app(sink: SmtpSink, env: Record<string, string> = {}, databaseUrl?: string): Promise<TestApp> {
    const t = await createTestApp({ databaseUrl, env: { SMTP_URL: sink.url, APP_URL, ...env } });
    cleanups.push(() => t.close());
    return t;
  }

  /** With SMTP down: a user whose verification and reset mails are queued and have been tried once. */
  async function verifyAndResetWaiting(): Promise<WaitingMails> {
    const sink = await SmtpSink.create({ start: false });
    cleanups.push(() => sink.stop());
    const t = await app(sink);
    const user = await registerUser(t.api);
    assert.equal((await t.api.post('/auth/password/forgot', { email: user.email })).status, 202);
    const verify = await triedOnce(t.databaseUrl, user.id, 'verify-email');
    const reset = await triedOnce(t.databaseUrl, user.id, 'reset-password');
    return { sink, t, user, verify, reset };
  }

  it('keeps a waiting token out of the row in clear, and mails a working link once SMTP is back', async () => {
    const { sink, t, user, verify, reset } = await verifyAndResetWaiting();
    for (const row of [verify, reset]) {
      assert.ok(row.secret, `${row.template}: the row holds its token, sealed`);
      assert.match(row.secret, /^v1\./);
      const token = openRow(row);
      assert.ok(!row.secret.includes(token), `${row.template}: the token is not in the row in clear`);
      assert.equal(await tokenHashCount(t.databaseUrl, token), 1, 'the sealed token is the one issued');
    }

    await sink.start();
    const verifyMail = await sink.waitFor(user.email, 'verify-email');
    const resetMail = await sink.waitFor(user.email, 'reset-password');
    const verifyToken = linkToken(verifyMail.text, APP_URL, 'verify-email');
    const resetToken = linkToken(resetMail.text, APP_URL, 'reset-password');
    assert.ok(verifyToken && resetToken);
    assert.equal((await t.api.post('/auth/email/verify', { token: verifyToken })).status, 204);
    assert.equal((await t.api.post('/auth/password/reset', { token: resetToken, password: NEW_PASSWORD })).status, 204);
    for (const template of ['verify-email', 'reset-password'] as const) {
      const row = await outboxRow(t.databaseUrl, user.id, template);
      assert.equal(row.status, 'sent');
      assert.equal(row.secret, null, `${template}: a sent message keeps no token`);
    }
  });

  it('erases the token of a message parked as failed', async () => {
    const sink = await SmtpSink.create({ bounce: (address) => address.startsWith('bounce-') });
    cleanups.push(() => sink.stop());
    const t = await app(sink, { MAIL_MAX_ATTEMPTS: '2' });
    const user = await registerUser(t.api, { email: uniqueEmail('bounce') });
    await eventually(async () => (await outboxRow(t.databaseUrl, user.id, 'verify-email')).status === 'failed', {
      what: 'the verification mail to be parked',
      timeoutMs: MAIL_TIMEOUT_MS,
    });
    const row = await outboxRow(t.databaseUrl, user.id, 'verify-email');
    assert.equal(row.attempts, 2);
    assert.match(row.last_error!, /550/);
    assert.equal(row.secret, null);
  });

  it('erases the tokens of waiting messages once the reset is done or the address verified, and parks them', async () => {
    const { sink, t, user, verify, reset } = await verifyAndResetWaiting();

    // The user got the links some other way (here: the test holds the key): the mails still wait.
    const resetToken = openRow(reset);
    assert.equal((await t.api.post('/auth/password/reset', { token: resetToken, password: NEW_PASSWORD })).status, 204);
    const spentReset = await outboxRow(t.databaseUrl, user.id, 'reset-password');
    assert.equal(spentReset.secret, null, 'the spent reset token is gone from the outbox');
    assert.equal(spentReset.status, 'failed', 'a dead link is not mailed');
    assert.match(spentReset.last_error!, /used or replaced/);
    assert.ok((await outboxRow(t.databaseUrl, user.id, 'verify-email')).secret, 'the verification link still waits');

    assert.equal((await t.api.post('/auth/email/verify', { token: openRow(verify) })).status, 204);
    const spentVerify = await outboxRow(t.databaseUrl, user.id, 'verify-email');
    assert.equal(spentVerify.secret, null);
    assert.equal(spentVerify.status, 'failed');

    // SMTP back: only "password changed" goes out.
    await sink.start();
    await sink.waitFor(user.email, 'password-changed');
    assert.deepEqual(
      sink.to(user.email).map((mail) => mail.template),
      ['password-changed'],
    );
  });

  it('without ENCRYPTION_KEY (development, tests) generates a key once under DATA_DIR, readable by the owner only', async () => {
    const t = await createTestApp({ env: { APP_URL, ENCRYPTION_KEY: '' } });
    cleanups.push(() => t.close());
    const user = await registerUser(t.api);
    await eventually(async () => (await outboxRow(t.databaseUrl, user.id, 'verify-email')).status === 'sent', {
      what: 'the verification mail to be written',
      timeoutMs: MAIL_TIMEOUT_MS,
    });
    const file = join(t.dataDir, 'encryption-key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').length >= 32);
  });

  it('still opens a token sealed under the old key after a rotation to "new,old"', async () => {
    const db = await createDatabase();
    cleanups.push(() => dropDatabase(db.name));
    const sink = await SmtpSink.create({ start: false });
    cleanups.push(() => sink.stop());
    const oldKey = randomBytes(32).toString('base64');
    const newKey = randomBytes(32).toString('base64');

    const before = await app(sink, { ENCRYPTION_KEY: oldKey }, db.url);
    const user = await registerUser(before.api);
    const sealedOld = await triedOnce(db.url, user.id, 'verify-email');
    assert.equal(openRow(sealedOld, oldKey).length > 0, true);
    await before.close();
    // Due again at once rather than after this attempt's back-off.
    await query(db.url, `UPDATE mail_outbox SET next_attempt_at = now() WHERE id = $1`, [sealedOld.id]);

    await sink.start();
    const rotated = await app(sink, { ENCRYPTION_KEY: `${newKey},${oldKey}` }, db.url);
    const mail = await sink.waitFor(user.email, 'verify-email');
    const token = linkToken(mail.text, APP_URL, 'verify-email');
    assert.ok(token);
    assert.equal((await rotated.api.post('/auth/email/verify', { token })).status, 204);

    // New tokens are sealed under the new key: the old key alone no longer opens them.
    await sink.stop();
    const second = await registerUser(rotated.api);
    const sealedNew = await triedOnce(db.url, second.id, 'verify-email');
    assert.ok(openRow(sealedNew, newKey));
    assert.throws(() => openRow(sealedNew, oldKey), /no longer lists/);
  });

  it('on upgrade erases tokens stored in clear by earlier releases, parking the waiting messages', async () => {
    const db = await createDatabase();
    cleanups.push(() => dropDatabase(db.name));
    const migrate = async (migrations: typeof MIGRATIONS) => {
      const source = new DataSource({ ...dataSourceOptions(loadConfig({}).database, db.url), migrations });
      await source.initialize();
      await source.runMigrations({ transaction: 'each' });
      await source.destroy();
    };
    const stamp = (migration: (typeof MIGRATIONS)[number]) => Number(/\d+$/.exec(new migration().name ?? '')?.[0]);
    await migrate(MIGRATIONS.filter((migration) => stamp(migration) < 1763700004100));
    const clear = randomBytes(32).toString('base64url');
    await query(
      db.url,
      `INSERT INTO mail_outbox (template, recipient, secret, status, next_attempt_at)
       VALUES ('reset-password', 'waiting@example.test', $1, 'pending', now() + interval '1 hour'),
              ('verify-email', 'parked@example.test', $1, 'failed', now())`,
      [clear],
    );
    await migrate(MIGRATIONS);
    const rows = await query<{ recipient: string; status: string; secret: string | null; last_error: string | null }>(
      db.url,
      `SELECT recipient, status, secret, last_error FROM mail_outbox ORDER BY recipient`,
    );
    assert.deepEqual(
      rows.map((row) => [row.recipient, row.status, row.secret]),
      [
        ['parked@example.test', 'failed', null],
        ['waiting@example.test', 'failed', null],
      ],
    );
    assert.match(rows[1]!.last_error!, /before tokens were encrypted/);
  });
});
