// A message the SMTP server accepts just as PostgreSQL goes away (connections closed, or held
// silent): "sent" cannot be recorded, and its claim's lease runs out before the database returns.
// The instance that got the acceptance records it when the database is back and never sends it again,
// and another instance sharing the database gives it the time to do so before claiming the message.
// A SIGTERM in that state tries to record the acceptance before the process exits.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { registerUser, uniqueEmail } from '../factories/users';
import type { TestApp } from '../utils/create-test-app';
import { createDatabase, dropDatabase, query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { startProxiedApp } from '../utils/proxied-app';
import { TcpProxy } from '../utils/tcp-proxy';
import { LogCapture } from '../observability/log-capture';
import { startLatchProcess } from './latch-process';
import { Cleanups, mailAppBehindProxy, strikeOnAcceptance, untilNothingPending } from './outage';
import { MAIL_TIMEOUT_MS, SmtpSink } from './smtp-sink';

const APP_URL = 'https://latch.example.test';
const NEVER = '0 0 1 1 *'; // keeps the scheduled cleanup out of the way

describe('mail accepted by SMTP just as PostgreSQL goes away', () => {
  const cleanups: Cleanups = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  for (const outage of ['cut', 'freeze'] as const) {
    const how = outage === 'cut' ? 'its connections are closed' : 'its connections are held silent';
    it(`records the message once the database is back and sends it once (${how})`, async () => {
      const { db, sink, proxy, t } = await mailAppBehindProxy(cleanups, { APP_URL, TOKEN_CLEANUP_CRON: NEVER });

      const email = uniqueEmail('blip');
      const accepted = strikeOnAcceptance(sink, () => proxy[outage](), email); // before the 250 reaches Latch
      const user = await registerUser(t.api, { email });
      await eventually(accepted, { what: 'the SMTP server to accept the message', timeoutMs: MAIL_TIMEOUT_MS });

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
      await untilNothingPending(db.url, 'the outbox to be empty of pending mail', MAIL_TIMEOUT_MS);
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
      const logs = new LogCapture();
      const { proxy, t, close } = await startProxiedApp(db.url, {
        env: { SMTP_URL: sink.url, APP_URL, TOKEN_CLEANUP_CRON: NEVER, LOG_LEVEL: 'warn' },
        logDestination: logs,
      });
      cleanups.push(close);
      instances.push({ proxy, logs, t });
    }

    const email = uniqueEmail('blip-pair');
    const accepted = strikeOnAcceptance(
      sink,
      () => {
        for (const { proxy } of instances) proxy.cut(); // the database is gone for everyone
      },
      email,
    );
    const user = await registerUser(instances[0].t.api, { email });
    await eventually(accepted, { what: 'the SMTP server to accept the message', timeoutMs: MAIL_TIMEOUT_MS });
    await query(db.url, `UPDATE mail_outbox SET next_attempt_at = now() WHERE user_id = $1`, [user.id]);
    // Both dispatchers have met the outage (the one holding the acceptance, and the other's sweep);
    // Nest's static logger writes both instances' lines to the one created last.
    const noticed = (): number =>
      instances.reduce((n, { logs }) => n + logs.text.split('Outbox unreachable').length - 1, 0);
    await eventually(() => noticed() >= 2, { what: 'both instances to notice the outage', timeoutMs: 20_000 });

    for (const { proxy } of instances) proxy.restore();
    await untilNothingPending(db.url, 'the message to be recorded as sent', MAIL_TIMEOUT_MS);
    assert.equal(sink.to(email, 'verify-email').length, 1, 'the SMTP server received the message once');
    assert.deepEqual([...sink.duplicates()], []);
  });

  it('records a held acceptance on SIGTERM when the database answers before the exit', async () => {
    const db = await createDatabase();
    cleanups.push(() => dropDatabase(db.name));
    const proxy = await TcpProxy.start(db.url);
    cleanups.push(() => proxy.close());
    const sink = await SmtpSink.create();
    cleanups.push(() => sink.stop());

    // Its own process, so that SIGTERM runs main.ts's shutdown.
    const child = await startLatchProcess({
      DATABASE_URL: proxy.urlFor(db.url),
      SMTP_URL: sink.url,
      APP_URL,
      LOG_LEVEL: 'info',
      TOKEN_CLEANUP_CRON: NEVER,
    });
    cleanups.push(() => child.close());

    const email = uniqueEmail('sigterm');
    const accepted = strikeOnAcceptance(sink, () => proxy.cut(), email);
    const user = await registerUser(child.api, { email });
    await eventually(() => accepted() && child.output.includes('held until the outbox answers'), {
      what: 'the instance to hold the acceptance',
      timeoutMs: MAIL_TIMEOUT_MS,
    });

    child.kill('SIGTERM');
    await eventually(() => child.output.includes('SIGTERM received'), { what: 'the shutdown to begin' });
    proxy.restore();
    assert.equal(await child.exited, 0, 'the instance stopped cleanly');
    const rows = await query<{ status: string }>(db.url, `SELECT status FROM mail_outbox WHERE user_id = $1`, [
      user.id,
    ]);
    assert.equal(rows[0]?.status, 'sent', 'recorded as sent before the process exited');
    assert.equal(sink.to(email, 'verify-email').length, 1);
  });
});
