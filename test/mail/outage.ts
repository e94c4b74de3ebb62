// What the mail outage tests share: striking (cutting or freezing PostgreSQL) right as the SMTP
// server accepts a message, and waiting for the outbox to settle afterwards.
import type { TestApp } from '../utils/create-test-app';
import { createDatabase, dropDatabase, query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { startProxiedApp } from '../utils/proxied-app';
import type { TcpProxy } from '../utils/tcp-proxy';
import { SmtpSink } from './smtp-sink';

/** Teardown steps a describe block runs in reverse order after its tests. */
export type Cleanups = (() => Promise<unknown>)[];

export interface MailAppBehindProxy {
  db: { name: string; url: string };
  sink: SmtpSink;
  proxy: TcpProxy;
  t: TestApp;
}

/**
 * A database of its own, a running SMTP sink, and an instance mailing to that sink and reaching the
 * database through a proxy the test can cut or freeze; `cleanups` takes them down.
 */
export async function mailAppBehindProxy(cleanups: Cleanups, env: Record<string, string>): Promise<MailAppBehindProxy> {
  const db = await createDatabase();
  cleanups.push(() => dropDatabase(db.name));
  const sink = await SmtpSink.create();
  cleanups.push(() => sink.stop());
  const { proxy, t, close } = await startProxiedApp(db.url, { env: { SMTP_URL: sink.url, ...env } });
  cleanups.push(close);
  return { db, sink, proxy, t };
}

/**
 * Arms `sink` so that `strike` runs once, when the first message (to `recipient`, if given) is
 * recorded and before the server's 250 reaches Latch. Returns whether it has struck yet.
 */
export function strikeOnAcceptance(sink: SmtpSink, strike: () => void, recipient?: string): () => boolean {
  let struck = false;
  sink.beforeAccept = (mail) => {
    if ((recipient !== undefined && !mail.to.includes(recipient)) || struck) return;
    struck = true;
    strike();
  };
  return () => struck;
}

/** Waits until no message in the outbox is pending any more. */
export async function untilNothingPending(databaseUrl: string, what: string, timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      const [row] = await query<{ n: string }>(
        databaseUrl,
        `SELECT count(*) AS n FROM mail_outbox WHERE status = 'pending'`,
      );
      return row.n === '0';
    },
    { what, timeoutMs },
  );
}
