// The outbox's front door. queue() writes the message through the caller's EntityManager, so it
// commits or rolls back with the state change it belongs to (a reset token, a new account); the
// dispatcher is woken once that transaction has committed, and never for one that rolled back.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { MailDispatcher } from './mail-dispatcher.service';
import { MailOutboxRepository, NewMail } from './mail-outbox.repository';

@Injectable()
export class MailService implements OnModuleInit, EntitySubscriberInterface {
  /** Transactions that queued mail and have not committed yet. */
  private readonly awaitingCommit = new WeakSet<QueryRunner>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly outbox: MailOutboxRepository,
    private readonly dispatcher: MailDispatcher,
  ) {}

  onModuleInit(): void {
    this.db.subscribers.push(this);
  }

  /**
   * Queues a message in the caller's transaction (or on its own when the manager has none).
   * Returns false when a message with the same dedupe key was queued before.
   */
  async queue(manager: EntityManager, mail: NewMail): Promise<boolean> {
    const queued = await this.outbox.insert(manager, mail);
    const runner = manager.queryRunner;
    if (runner?.isTransactionActive) this.awaitingCommit.add(runner);
    else if (queued) this.dispatcher.wake();
    return queued;
  }

  /** Queues a message on its own, outside any caller's transaction. */
  queueNow(mail: NewMail): Promise<boolean> {
    return this.queue(this.db.manager, mail);
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
