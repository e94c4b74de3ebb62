import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigService } from '@nestjs/config';
import type { SchedulerRegistry } from '@nestjs/schedule';
import type { DataSource } from 'typeorm';
import { DomainEvents } from '../../common/events/domain-events.service';
import type { LatchConfig } from '../../config/configuration';
import type { MailService } from '../mail/mail.service';
import type { OneTimeTokensService } from '../tokens/one-time-tokens.service';
import type { UsersService } from '../users/users.service';
import type { MailRequestQuota } from './mail-request-quota';
import { PasswordResetRequestsProcessor, QUEUED_IDS_MAX } from './password-reset-requests.processor';
import type { PasswordResetRequestsRepository, ResetRequest } from './password-reset-requests.repository';

/** The password_reset_requests table as take() sees it: rows in the order they were recorded. */
class FakeRequests {
  readonly rows = new Map<string, string>();
  private next = 1;

  record(address: string): string {
    const id = String(this.next++);
    this.rows.set(id, address);
    return id;
  }

  async take(_manager: unknown, id: string | null, staleSeconds: number): Promise<ResetRequest | null> {
    await Promise.resolve();
    assert.equal(staleSeconds, 0, 'only the sweep waits for a request to go stale');
    const key = id ?? this.rows.keys().next().value;
    const address = key === undefined ? undefined : this.rows.get(key);
    if (key === undefined || address === undefined) return null;
    this.rows.delete(key);
    return { id: key, address };
  }
}

function processorWith(requests: FakeRequests, mailed: string[]) {
  const events = new DomainEvents(undefined as never, undefined as never);
  const config = {
    get: (key: string) =>
      ({ auth: { passwordResetTtl: 1800, passwordResetSweepMs: 60_000 }, database: { poolMax: 20 } })[key],
  } as unknown as ConfigService<LatchConfig, true>;
  const processor = new PasswordResetRequestsProcessor(
    { transaction: (work: (manager: unknown) => unknown) => work({}) } as unknown as DataSource,
    requests as unknown as PasswordResetRequestsRepository,
    { take: () => Promise.resolve(true) } as unknown as MailRequestQuota,
    {
      findForLogin: (address: string) => Promise.resolve({ id: `user-${address}`, email: address }),
    } as unknown as UsersService,
    { issue: () => Promise.resolve('token') } as unknown as OneTimeTokensService,
    {
      forgetTokens: () => Promise.resolve(),
      queue: (_manager: unknown, mail: { to: string }) => {
        mailed.push(mail.to);
        return Promise.resolve();
      },
    } as unknown as MailService,
    events,
    {} as SchedulerRegistry,
    config,
  );
  return { processor, events };
}

describe('forgot-password requests after the response', () => {
  it('keeps a bounded number of ids in memory and still processes every request of a larger burst, once', async () => {
    const requests = new FakeRequests();
    const mailed: string[] = [];
    const { processor, events } = processorWith(requests, mailed);
    const burst = QUEUED_IDS_MAX + 300;
    for (let i = 0; i < burst; i++) processor.processAfterResponse(requests.record(`user${i}@example.com`));
    // The first few are being processed already; of the rest, the overflow waits in the table only.
    assert.equal(processor.backlog.queued, QUEUED_IDS_MAX);
    assert.ok(processor.backlog.inTable > 250, `${processor.backlog.inTable} wait in the table only`);

    await events.drain(30_000);
    assert.equal(requests.rows.size, 0, 'no request is left in the table');
    assert.equal(mailed.length, burst);
    assert.equal(new Set(mailed).size, burst, 'each request was mailed once');
    assert.deepEqual(processor.backlog, { queued: 0, inTable: 0 });
  });

  it('takes the oldest waiting request in place of a kept one that someone else took', async () => {
    const requests = new FakeRequests();
    const mailed: string[] = [];
    const { processor, events } = processorWith(requests, mailed);
    // Another instance took our kept request as its oldest, leaving its own in the table.
    const ours = requests.record('ours@example.com');
    requests.rows.delete(ours);
    requests.record('theirs@example.com');
    processor.processAfterResponse(ours);

    await events.drain(5_000);
    assert.deepEqual(mailed, ['theirs@example.com'], 'processed now, not at the next sweep');
    assert.equal(requests.rows.size, 0);
  });
});
