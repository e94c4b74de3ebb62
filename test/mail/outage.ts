// What the mail outage tests share: striking (cutting or freezing PostgreSQL) right as the SMTP
// server accepts a message, and waiting for the outbox to settle afterwards.
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import type { SmtpSink } from './smtp-sink';

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
