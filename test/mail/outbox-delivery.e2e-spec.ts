// The outbox under failure: SMTP down and back, a service killed with mail pending, two instances
// on one database, a message that keeps bouncing, and file mail when no SMTP_URL is set.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { registerUser, uniqueEmail } from '../factories/users';
import { createTestApp, TEST_ENCRYPTION_KEY } from '../utils/create-test-app';
import { createDatabase, dropDatabase, query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { startLatchProcess } from './latch-process';
import { linkToken, MAIL_TIMEOUT_MS, parseMail, SmtpSink } from './smtp-sink';

const APP_URL = 'https://latch.example.test';

interface OutboxRow {
  status: string;
  attempts: number;
  last_error: string | null;
}

async function outboxOf(databaseUrl: string, userId: string): Promise<OutboxRow[]> {
  return query<OutboxRow>(
    databaseUrl,
    `SELECT status, attempts, last_error FROM mail_outbox WHERE user_id = $1 AND template = 'verify-email'`,
    [userId],
  );
}

/** Waits until every listed user's verification mail is recorded as sent. */
async function allSent(databaseUrl: string, userIds: string[], timeoutMs = 30_000): Promise<void> {
  await eventually(
    async () => {
      const rows = await query<{ n: string }>(
        databaseUrl,
        `SELECT count(*) AS n FROM mail_outbox WHERE user_id = ANY($1) AND status = 'sent'`,
        [userIds],
      );
      return Number(rows[0].n) === userIds.length;
    },
    { what: 'every message to be marked sent', timeoutMs },
  );
}

describe('mail outbox delivery', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  it('keeps mail while SMTP is down, records the failures, and sends it once when SMTP is back', async () => {
    const sink = await SmtpSink.create();
    cleanups.push(() => sink.stop());
    const t = await createTestApp({ env: { SMTP_URL: sink.url, APP_URL } });
    cleanups.push(() => t.close());

    const before = await registerUser(t.api);
    await sink.waitFor(before.email, 'verify-email');

    await sink.stop();
    const user = await registerUser(t.api);
    await eventually(
      async () => {
        const [row] = await outboxOf(t.databaseUrl, user.id);
        return row?.attempts >= 1 && row.last_error !== null;
      },
      { what: 'a failed attempt to be recorded', timeoutMs: MAIL_TIMEOUT_MS },
    );
    const [waiting] = await outboxOf(t.databaseUrl, user.id);
    assert.equal(waiting.status, 'pending');
    assert.match(waiting.last_error!, /ECONNREFUSED|connect/i);
    assert.equal(sink.to(user.email).length, 0);

    await sink.start();
    await sink.waitFor(user.email, 'verify-email');
    await allSent(t.databaseUrl, [user.id]);
    assert.equal(sink.to(user.email).length, 1);
    assert.equal(sink.to(before.email).length, 1);
  });

  it('sends mail queued just before the service was killed once, after it starts again', async () => {
    const db = await createDatabase();
    cleanups.push(() => dropDatabase(db.name));
    const sink = await SmtpSink.create({ start: false });
    cleanups.push(() => sink.stop());

    // The first instance runs as its own process so that it can be killed outright (SIGKILL).
    const child = await startLatchProcess({
      DATABASE_URL: db.url,
      SMTP_URL: sink.url,
      APP_URL,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    });
    cleanups.push(() => child.close());

    const user = await registerUser(child.api, { email: uniqueEmail('killed') });
    child.kill('SIGKILL');
    await child.exited;
    const [left] = await outboxOf(db.url, user.id);
    assert.equal(left?.status, 'pending', 'the answered request left its mail in the outbox');

    await sink.start();
    const second = await createTestApp({ databaseUrl: db.url, env: { SMTP_URL: sink.url, APP_URL } });
    cleanups.push(() => second.close());
    // A message the killed process had claimed waits out its lease (30 s) before anyone retries it.
    const mail = await sink.waitFor(user.email, 'verify-email', 60_000);
    assert.ok(linkToken(mail.text, APP_URL, 'verify-email'));
    await allSent(db.url, [user.id]);
    assert.equal(sink.to(user.email).length, 1);
  });

  it('sends each message once when two instances share the database', async () => {
    const db = await createDatabase();
    cleanups.push(() => dropDatabase(db.name));
    const sink = await SmtpSink.create({ start: false });
    cleanups.push(() => sink.stop());
    const env = { SMTP_URL: sink.url, APP_URL };
    const a = await createTestApp({ databaseUrl: db.url, env });
    cleanups.push(() => a.close());
    const b = await createTestApp({ databaseUrl: db.url, env });
    cleanups.push(() => b.close());

    // Queued while SMTP is down, so that both instances' retries and sweeps compete for every row.
    const users = [];
    for (let i = 0; i < 10; i++) users.push(await registerUser((i % 2 ? a : b).api));
    const ids = users.map((u) => u.id);
    await eventually(
      async () => {
        const rows = await query<{ n: string }>(
          db.url,
          `SELECT count(*) AS n FROM mail_outbox WHERE user_id = ANY($1) AND attempts >= 1`,
          [ids],
        );
        return Number(rows[0].n) === ids.length;
      },
      { what: 'every message to have been tried', timeoutMs: MAIL_TIMEOUT_MS },
    );
    await sink.start();
    await allSent(db.url, ids);
    for (const user of users) assert.equal(sink.to(user.email).length, 1, `${user.email} got one message`);
    assert.equal(sink.messages.length, users.length);
  });

  it('parks a message as failed after MAIL_MAX_ATTEMPTS, with the last error', async () => {
    const sink = await SmtpSink.create({ bounce: (address) => address.startsWith('bounce-') });
    cleanups.push(() => sink.stop());
    const t = await createTestApp({ env: { SMTP_URL: sink.url, APP_URL, MAIL_MAX_ATTEMPTS: '2' } });
    cleanups.push(() => t.close());
    const user = await registerUser(t.api, { email: uniqueEmail('bounce') });
    await eventually(async () => (await outboxOf(t.databaseUrl, user.id))[0]?.status === 'failed', {
      what: 'the message to be parked',
      timeoutMs: MAIL_TIMEOUT_MS,
    });
    const [row] = await outboxOf(t.databaseUrl, user.id);
    assert.equal(row.attempts, 2);
    assert.match(row.last_error!, /550/);
    assert.equal(sink.to(user.email).length, 0);
  });

  it('writes .eml files under DATA_DIR/mail when no SMTP_URL is set', async () => {
    const t = await createTestApp({ env: { APP_URL } });
    cleanups.push(() => t.close());
    const user = await registerUser(t.api);
    await allSent(t.databaseUrl, [user.id]);
    const dir = join(t.dataDir, 'mail');
    const files = readdirSync(dir).filter((name) => name.endsWith('.eml'));
    assert.equal(files.length, 1);
    const mail = parseMail(readFileSync(join(dir, files[0]), 'utf8'), [user.email]);
    assert.equal(mail.template, 'verify-email');
    assert.ok(linkToken(mail.text, APP_URL, 'verify-email'));
    assert.equal(linkToken(mail.html, APP_URL, 'verify-email'), linkToken(mail.text, APP_URL, 'verify-email'));
  });
});
