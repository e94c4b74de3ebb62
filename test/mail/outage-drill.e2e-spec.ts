// The soak's drill, bounded: traffic that produces mail (register → "verify your address",
// forgot-password → "reset your password", password change → "password changed") runs while SMTP
// goes down and comes back, then PostgreSQL is cut (connections closed) and then held silent, each
// time right as the SMTP server accepts a message. At the end every acknowledged mail (a request
// answered 2xx that must produce one) has been delivered exactly once: once per recipient and
// template, and no Message-ID twice. Requests refused during an outage promise nothing (but their
// mail, if their transaction committed after all, still arrives at most once).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GOOD_PASSWORD, uniqueEmail } from '../factories/users';
import type { TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { Cleanups, mailAppBehindProxy, strikeOnAcceptance, untilNothingPending } from './outage';

const APP_URL = 'https://latch.example.test';
const NEVER = '0 0 1 1 *'; // keeps the scheduled cleanup out of the way
/** Pause between two requests of one traffic loop: steady traffic, not a load test. */
const PACE_MS = 100;
const NEW_PASSWORD = `${GOOD_PASSWORD} (changed)`;

interface Promised {
  email: string;
  template: 'verify-email' | 'reset-password' | 'password-changed';
}

/** Mail-producing traffic against one instance, recording what each 2xx promised. */
class Traffic {
  readonly promised: Promised[] = [];
  readonly statuses = new Map<string, number>();
  failures = 0;
  private readonly fresh: string[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly t: TestApp) {}

  start(loops: number): void {
    for (let i = 0; i < loops; i++) this.loops.push(this.loop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    for (let step = 0; !this.stopped; step++) {
      // Each account is used once after its registration: a refused request may still have
      // committed, so retrying on the same account could honestly produce a second message.
      const email = step % 2 === 0 ? undefined : this.fresh.shift();
      try {
        if (!email) await this.register();
        else if (step % 4 === 1) await this.forgotPassword(email);
        else await this.changePassword(email);
      } catch {
        this.failures += 1; // no answer in time
      }
      await new Promise((resolve) => setTimeout(resolve, PACE_MS));
    }
  }

  private count(what: string, status: number): boolean {
    const key = `${what} ${status}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    if (status >= 300) this.failures += 1;
    return status < 300;
  }

  private async register(): Promise<void> {
    const email = uniqueEmail('drill');
    const res = await this.t.api.post('/auth/register', { email, password: GOOD_PASSWORD });
    if (!this.count('register', res.status)) return;
    this.promised.push({ email, template: 'verify-email' });
    this.fresh.push(email);
  }

  private async forgotPassword(email: string): Promise<void> {
    const res = await this.t.api.post('/auth/password/forgot', { email });
    if (this.count('forgot', res.status)) this.promised.push({ email, template: 'reset-password' });
  }

  private async changePassword(email: string): Promise<void> {
    const login = await this.t.api.post('/auth/login', { email, password: GOOD_PASSWORD });
    if (!this.count('login', login.status)) return;
    const res = await this.t.api.post(
      '/auth/password/change',
      { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD },
      { token: login.body.accessToken },
    );
    if (this.count('change', res.status)) this.promised.push({ email, template: 'password-changed' });
  }
}

describe('outage drill: SMTP down, PostgreSQL cut and held silent', () => {
  const cleanups: Cleanups = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  it('delivers every acknowledged mail exactly once', { timeout: 150_000 }, async (ctx) => {
    const started = Date.now();
    const { db, sink, proxy, t } = await mailAppBehindProxy(cleanups, { APP_URL, TOKEN_CLEANUP_CRON: NEVER });
    const traffic = new Traffic(t);
    cleanups.push(() => traffic.stop());
    const phase = (name: string): void => ctx.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${name}`);

    traffic.start(2);
    await eventually(() => sink.messages.length >= 4, { what: 'traffic to produce mail', timeoutMs: 15_000 });

    phase('SMTP down');
    await sink.stop();
    let promisedAt = traffic.promised.length;
    await eventually(
      async () => {
        const [row] = await query<{ n: string }>(
          db.url,
          `SELECT count(*) AS n FROM mail_outbox WHERE status = 'pending' AND attempts >= 2 AND last_error IS NOT NULL`,
        );
        return Number(row.n) >= 2 && traffic.promised.length >= promisedAt + 8;
      },
      { what: 'deliveries failed and retried while SMTP is down', timeoutMs: 20_000 },
    );
    phase('SMTP back');
    await sink.start();

    for (const outage of ['cut', 'freeze'] as const) {
      const struck = strikeOnAcceptance(sink, () => proxy[outage]()); // before the 250 reaches Latch
      await eventually(struck, { what: `a message accepted, to ${outage} PostgreSQL on`, timeoutMs: 20_000 });
      sink.beforeAccept = null;
      phase(`PostgreSQL ${outage === 'cut' ? 'cut' : 'held silent'} as a message was accepted`);
      const failuresAt = traffic.failures;
      await eventually(() => traffic.failures >= failuresAt + 2, {
        what: 'requests to be refused during the outage',
        timeoutMs: 30_000,
      });
      proxy.restore();
      phase('PostgreSQL back');
      promisedAt = traffic.promised.length;
      await eventually(() => traffic.promised.length >= promisedAt + 4, {
        what: 'requests to be acknowledged again',
        timeoutMs: 20_000,
      });
    }
    await traffic.stop();
    phase(`traffic stopped: ${traffic.promised.length} mails promised, ${traffic.failures} requests refused`);
    ctx.diagnostic(JSON.stringify(Object.fromEntries(traffic.statuses)));

    const missing = (): Promised[] => traffic.promised.filter((p) => sink.to(p.email, p.template).length === 0);
    await eventually(() => missing().length === 0, {
      what: 'every acknowledged mail to arrive',
      timeoutMs: 60_000,
    });
    // Whatever is still pending (a message whose "sent" was not recorded) must settle without a resend.
    await untilNothingPending(db.url, 'no mail left pending in the outbox', 60_000);
    phase(`settled: ${sink.messages.length} mails received`);

    assert.deepEqual([...sink.duplicates()], [], 'no Message-ID was received twice');
    const perKey = new Map<string, number>();
    for (const mail of sink.messages) {
      const key = `${mail.to.join(',')} ${mail.template}`;
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    assert.deepEqual(
      [...perKey].filter(([, n]) => n > 1),
      [],
      'no recipient got the same kind of mail twice',
    );
    for (const p of traffic.promised) {
      assert.equal(sink.to(p.email, p.template).length, 1, `${p.template} for ${p.email} delivered once`);
    }
    const [parked] = await query<{ n: string }>(
      db.url,
      `SELECT count(*) AS n FROM mail_outbox WHERE status = 'failed'`,
    );
    assert.equal(parked.n, '0', 'no mail was parked as failed');
  });
});
