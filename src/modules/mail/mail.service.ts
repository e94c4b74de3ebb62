// The outbox's front door. queue() writes the message through the caller's EntityManager, so it
// commits or rolls back with the state change it belongs to (a reset token, a new account); the
// dispatcher is woken once that transaction has committed, and never for one that rolled back.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { SecretBox } from '../crypto/secret-box.service';
import { MailDispatcher } from './mail-dispatcher.service';
import type { MailTemplateName } from './mail-outbox.entity';
import { MailOutboxRepository, NewMail } from './mail-outbox.repository';
import { outboxSecretContext } from './outbox-secret';

@Injectable()
export class MailService implements OnModuleInit, EntitySubscriberInterface {
  /** Transactions that queued mail and have not committed yet. */
  private readonly awaitingCommit = new WeakSet<QueryRunner>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly outbox: MailOutboxRepository,
    private readonly dispatcher: MailDispatcher,
    private readonly box: SecretBox,
  ) {}

  onModuleInit(): void {
    this.db.subscribers.push(this);
  }

  /**
   * Queues a message in the caller's transaction (or on its own when the manager has none).
   * Returns false when a message with the same dedupe key was queued before. The token a link
   * carries is stored sealed with ENCRYPTION_KEY, bound to the row: never in clear in the table.
   */
  async queue(manager: EntityManager, mail: NewMail): Promise<boolean> {
    const id = randomUUID();
    const secret = mail.secret
      ? this.box.seal(mail.secret, outboxSecretContext({ id, template: mail.template, recipient: mail.to }))
      : null;
    const queued = await this.outbox.insert(manager, { ...mail, id, secret });
    const runner = manager.queryRunner;
    if (runner?.isTransactionActive) this.awaitingCommit.add(runner);
    else if (queued) this.dispatcher.wake();
    return queued;
  }

  /** Queues a message on its own, outside any caller's transaction. */
  queueNow(mail: NewMail): Promise<boolean> {
    return this.queue(this.db.manager, mail);
  }

  /**
   * In the caller's transaction: the user's tokens of this kind are spent (a reset done, an address
   * verified). The outbox forgets the ones it still holds; their unsent messages are parked.
   */
  forgetTokens(manager: EntityManager, userId: string, template: MailTemplateName): Promise<void> {
    return this.outbox.forgetTokens(manager, userId, template);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const runner = event.queryRunner;
    if (runner.isTransactionActive || !this.awaitingCommit.has(runner)) return; // a savepoint, or no mail
    this.awaitingCommit.delete(runner);
    this.dispatcher.wake();
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) this.awaitingCommit.delete(event.queryRunner);
  }
}
