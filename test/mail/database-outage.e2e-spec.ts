// A message the SMTP server accepts just as PostgreSQL goes away (connections closed, or held
// silent): "sent" cannot be recorded, and its claim's lease runs out before the database returns.
// The instance that got the acceptance records it when the database is back and never sends it again,
// and another instance sharing the database gives it the time to do so before claiming the message.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { registerUser, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { createDatabase, dropDatabase, query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { TcpProxy } from '../utils/tcp-proxy';
import { LogCapture } from '../observability/log-capture';
import { MAIL_TIMEOUT_MS, SmtpSink } from './smtp-sink';

const APP_URL = 'https://latch.example.test';
const NEVER = '0 0 1 1 *'; // keeps the scheduled cleanup out of the way

describe('mail accepted by SMTP just as PostgreSQL goes away', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  for (const outage of ['cut', 'freeze'] as const) {
    const how = outage === 'cut' ? 'its connections are closed' : 'its connections are held silent';
    it(`records the message once the database is back and sends it once (${how})`, async () => {
      const db = await createDatabase();
      cleanups.push(() => dropDatabase(db.name));
      const proxy = await TcpProxy.start(db.url);
      cleanups.push(() => proxy.close());
      const sink = await SmtpSink.create();
      cleanups.push(() => sink.stop());
      const t = await createTestApp({
        databaseUrl: proxy.urlFor(db.url),
        env: { SMTP_URL: sink.url, APP_URL, TOKEN_CLEANUP_CRON: NEVER },
      });
      cleanups.push(async () => {
        proxy.restore();
        await t.close();
      });

      const email = uniqueEmail('blip');
      let accepted = false;
      sink.beforeAccept = (mail) => {
        if (!mail.to.includes(email) || accepted) return;
        accepted = true;
        proxy[outage](); // before the 250 reaches Latch
      };
      const user = await registerUser(t.api, { email });
      await eventually(() => accepted, { what: 'the SMTP server to accept the message', timeoutMs: MAIL_TIMEOUT_MS });

      // The claim's lease runs out while the database is away (as in an outage longer than it).
      const [expired] = await query<{ status: string }>(
        db.url,
        `UPDATE mail_outbox SET next_attempt_at = now() WHERE user_id = $1 RETURNING status`,
        [user.id],
      );
      assert.equal(expired.status, 'pending', '"sent" could not be recorded while the database was away');

      proxy.restore();
      await eventually(
        async () => {
          const rows = await query<{ status: string }>(db.url, `SELECT status FROM mail_outbox WHERE user_id = $1`, [
            user.id,
          ]);
          return rows[0]?.status === 'sent';
        },
        { what: 'the message to be recorded as sent', timeoutMs: MAIL_TIMEOUT_MS },
      );
      // A second claim of the row (the sweep runs every few seconds) must not send it again.
      await eventually(
        async () => {
          const rows = await query<{ n: string }>(
            db.url,
            `SELECT count(*) AS n FROM mail_outbox WHERE status = 'pending'`,
          );
          return rows[0].n === '0';
        },
        { what: 'the outbox to be empty of pending mail', timeoutMs: MAIL_TIMEOUT_MS },
      );
      assert.equal(sink.to(email, 'verify-email').length, 1, 'the SMTP server received the message once');
      assert.deepEqual([...sink.duplicates()], []);
    });
  }

  it('is not sent again by another instance sharing the database after the outage', async () => {
    const db = await createDatabase();
    cleanups.push(() => dropDatabase(db.name));
    const sink = await SmtpSink.create();
    cleanups.push(() => sink.stop());
    const instances: { proxy: TcpProxy; logs: LogCapture; t: TestApp }[] = [];
    for (let i = 0; i < 2; i++) {
      const proxy = await TcpProxy.start(db.url);
      cleanups.push(() => proxy.close());
      const logs = new LogCapture();
      const t = await createTestApp({
        databaseUrl: proxy.urlFor(db.url),
        env: { SMTP_URL: sink.url, APP_URL, TOKEN_CLEANUP_CRON: NEVER, LOG_LEVEL: 'warn' },
        logDestination: logs,
      });
      cleanups.push(async () => {
        proxy.restore();
        await t.close();
      });
      instances.push({ proxy, logs, t });
    }

    const email = uniqueEmail('blip-pair');
    let accepted = false;
    sink.beforeAccept = (mail) => {
      if (!mail.to.includes(email) || accepted) return;
      accepted = true;
      for (const { proxy } of instances) proxy.cut(); // the database is gone for everyone
    };
    const user = await registerUser(instances[0].t.api, { email });
    await eventually(() => accepted, { what: 'the SMTP server to accept the message', timeoutMs: MAIL_TIMEOUT_MS });
    await query(db.url, `UPDATE mail_outbox SET next_attempt_at = now() WHERE user_id = $1`, [user.id]);
    // Both dispatchers have met the outage (the one holding the acceptance, and the other's sweep);
    // Nest's static logger writes both instances' lines to the one created last.
    const noticed = (): number =>
      instances.reduce((n, { logs }) => n + logs.text.split('Outbox unreachable').length - 1, 0);
    await eventually(() => noticed() >= 2, { what: 'both instances to notice the outage', timeoutMs: 20_000 });

    for (const { proxy } of instances) proxy.restore();
    await eventually(
      async () => {
        const rows = await query<{ n: string }>(
          db.url,
          `SELECT count(*) AS n FROM mail_outbox WHERE status = 'pending'`,
        );
        return rows[0].n === '0';
      },
      { what: 'the message to be recorded as sent', timeoutMs: MAIL_TIMEOUT_MS },
    );
    assert.equal(sink.to(email, 'verify-email').length, 1, 'the SMTP server received the message once');
    assert.deepEqual([...sink.duplicates()], []);
  });
});
