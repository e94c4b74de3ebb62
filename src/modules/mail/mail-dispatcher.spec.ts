import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../../../test/utils/eventually';
import type { LatchConfig } from '../../config/configuration';
import { MailDispatcher, retryDelaySeconds } from './mail-dispatcher.service';
import type { ClaimedMail, MailOutboxRepository } from './mail-outbox.repository';
import type { MailSender } from './mail-sender.service';

describe('mail retry backoff', () => {
  it('retries first within seconds, then doubles up to at most about 50 s apart', () => {
    for (let i = 0; i < 50; i++) {
      assert.ok(retryDelaySeconds(1) >= 2 && retryDelaySeconds(1) <= 2.2);
      assert.ok(retryDelaySeconds(2) >= 4 && retryDelaySeconds(2) <= 4.4);
      for (const attempt of [6, 7, 10, 100]) {
        const delay = retryDelaySeconds(attempt);
        assert.ok(delay >= 45 && delay <= 49.5, `attempt ${attempt}: ${delay}`);
      }
    }
  });
});

interface Row {
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  leasedUntil: number;
}

/** The outbox as the dispatcher sees it, with a database that can go away (refusing or hanging). */
class FakeOutbox {
  readonly rows = new Map<string, Row>();
  database: 'up' | 'down' | 'hanging' = 'up';

  add(id: string): void {
    this.rows.set(id, { status: 'pending', attempts: 0, leasedUntil: 0 });
  }

  /** The claims' leases run out (as they would during a long outage). */
  expireLeases(): void {
    for (const row of this.rows.values()) row.leasedUntil = 0;
  }

  private async reach(): Promise<void> {
    await Promise.resolve();
    if (this.database === 'down') throw new Error('Connection terminated unexpectedly');
    if (this.database === 'hanging') await new Promise(() => undefined);
  }

  async claimNext(leaseSeconds: number): Promise<ClaimedMail | null> {
    await this.reach();
    for (const [id, row] of this.rows) {
      if (row.status !== 'pending' || row.leasedUntil > Date.now()) continue;
      row.attempts += 1;
      row.leasedUntil = Date.now() + leaseSeconds * 1000;
      return {
        id,
        template: 'verify-email',
        recipient: `${id}@example.com`,
        data: {},
        secret: 's',
        attempt: row.attempts,
        createdAt: new Date(),
      };
    }
    return null;
  }

  recordCalls = 0;

  async markSent(id: string): Promise<void> {
    this.recordCalls += 1;
    await this.reach();
    const row = this.rows.get(id);
    if (row && row.status !== 'sent') row.status = 'sent';
  }

  async markAttemptFailed(): Promise<'retry'> {
    await this.reach();
    throw new Error('not expected in these tests');
  }

  async secondsUntilNextDue(): Promise<number | null> {
    await this.reach();
    return null;
  }
}

function dispatcherWith(
  outbox: FakeOutbox,
  onSend: (id: string) => void,
): { dispatcher: MailDispatcher; sent: string[] } {
  const sent: string[] = [];
  const sender = {
    send: async (message: ClaimedMail) => {
      sent.push(message.id);
      onSend(message.id);
    },
  };
  const config = { get: () => ({ maxAttempts: 5 }) } as unknown as ConfigService<LatchConfig, true>;
  const dispatcher = new MailDispatcher(
    outbox as unknown as MailOutboxRepository,
    sender as unknown as MailSender,
    config,
  );
  return { dispatcher, sent };
}

describe('mail accepted just as the database goes away', () => {
  before(() => Logger.overrideLogger(false));
  after(() => Logger.overrideLogger(new Logger()));

  it('records it when the database is back and never sends it again, even after its lease ran out', async () => {
    const outbox = new FakeOutbox();
    outbox.add('m1');
    const { dispatcher, sent } = dispatcherWith(outbox, () => {
      outbox.database = 'down'; // accepted by SMTP; "sent" cannot be recorded
    });
    dispatcher.wake();
    await eventually(() => sent.length === 1, { what: 'the message to be sent' });
    // Several recording attempts fail while the database is away; meanwhile the lease runs out.
    await eventually(() => outbox.recordCalls >= 3, { what: 'recording to be tried again' });
    outbox.expireLeases();
    outbox.database = 'up';
    dispatcher.wake(); // as the sweep would
    await eventually(() => outbox.rows.get('m1')!.status === 'sent', { what: 'the message to be recorded sent' });
    for (let i = 0; i < 3; i++) {
      outbox.expireLeases();
      dispatcher.wake();
    }
    await dispatcher.onModuleDestroy();
    assert.deepEqual(sent, ['m1']);
    assert.equal(outbox.rows.get('m1')!.status, 'sent');
  });

  it('records instead of sending when its own worker claims an accepted message again', async () => {
    const outbox = new FakeOutbox();
    outbox.add('m2');
    let failNextRecord = true;
    const markSent = outbox.markSent.bind(outbox);
    // Only the record statements fail (a connection killed under them); claims go through.
    outbox.markSent = async (id: string) => {
      if (failNextRecord) throw new Error('Connection terminated unexpectedly');
      return markSent(id);
    };
    const { dispatcher, sent } = dispatcherWith(outbox, () => undefined);
    dispatcher.wake();
    await eventually(() => sent.length === 1, { what: 'the message to be sent' });
    outbox.expireLeases();
    dispatcher.wake();
    await eventually(() => outbox.rows.get('m2')!.attempts === 2, {
      what: 'the worker to claim the message again',
      timeoutMs: 8_000,
    });
    failNextRecord = false;
    await eventually(() => outbox.rows.get('m2')!.status === 'sent', { what: 'the message to be recorded sent' });
    await dispatcher.onModuleDestroy();
    assert.deepEqual(sent, ['m2']);
  });

  it('tries to record held acceptances on shutdown, and gives up in bounded time when it cannot', async () => {
    const outbox = new FakeOutbox();
    outbox.add('m3');
    const { dispatcher, sent } = dispatcherWith(outbox, () => {
      outbox.database = 'down';
    });
    dispatcher.wake();
    await eventually(() => sent.length === 1, { what: 'the message to be sent' });
    const stopping = dispatcher.onModuleDestroy();
    outbox.database = 'up';
    await stopping;
    assert.equal(outbox.rows.get('m3')!.status, 'sent', 'recorded before the instance stopped');

    const silent = new FakeOutbox();
    silent.add('m4');
    const other = dispatcherWith(silent, () => {
      silent.database = 'hanging';
    });
    other.dispatcher.wake();
    await eventually(() => other.sent.length === 1, { what: 'the message to be sent' });
    const started = Date.now();
    await other.dispatcher.onModuleDestroy();
    const took = Date.now() - started;
    assert.ok(took < 9_000, `shutdown took ${took} ms`);
    assert.equal(silent.rows.get('m4')!.status, 'pending');
  });
});
