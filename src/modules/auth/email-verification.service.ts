// E-mail verification tokens and their mail. Registration queues one in the transaction that
// creates the account; a resend queues another; redeeming one marks the address verified.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { UserUpdatedEvent } from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { MailService } from '../mail/mail.service';
import { invalidOneTimeToken, OneTimeTokensService } from '../tokens/one-time-tokens.service';
import { UsersService } from '../users/users.service';
import type { AuthContext } from './auth-context';
import { MailRequestQuota } from './mail-request-quota';

/** How long a verification link works. Not configurable: a resend gives a fresh link. */
export const EMAIL_VERIFICATION_TTL_SECONDS = 72 * 3600;

@Injectable()
export class EmailVerificationService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly oneTimeTokens: OneTimeTokensService,
    private readonly mail: MailService,
    private readonly users: UsersService,
    private readonly quota: MailRequestQuota,
    private readonly events: DomainEvents,
  ) {}

  /** Issues a token and queues its mail in the caller's transaction. */
  async queue(manager: EntityManager, user: { id: string; email: string }): Promise<void> {
    const token = await this.oneTimeTokens.issue(
      manager,
      user.id,
      'email_verification',
      EMAIL_VERIFICATION_TTL_SECONDS,
      false,
    );
    await this.mail.queue(manager, { template: 'verify-email', to: user.email, userId: user.id, secret: token });
  }

  async verifyEmail(token: string): Promise<void> {
    const userId = await this.db.transaction(async (manager) => {
      const owner = await this.oneTimeTokens.redeem(manager, token, 'email_verification');
      if (!owner) throw invalidOneTimeToken();
      await this.users.markEmailVerified(owner, manager);
      await this.oneTimeTokens.voidAll(manager, owner, 'email_verification');
      await this.mail.forgetTokens(manager, owner, 'verify-email');
      return owner;
    });
    // Announced after the commit, so that no cache reloads the unverified row in between.
    const event = new UserUpdatedEvent(userId);
    this.events.publish(event);
  }

  /** Queues a fresh verification mail unless the address is verified or over its quota. */
  async resendVerification(auth: AuthContext): Promise<void> {
    const user = await this.users.getById(auth.userId);
    if (!user || user.emailVerified) return;
    if (!(await this.quota.take('verify-email', user.email))) return;
    await this.db.transaction((manager) => this.queue(manager, user));
  }
}
