// E-mail verification tokens and their mail. Registration queues one in the transaction that
// creates the account; a resend queues another; redeeming one marks the address verified.
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MailService } from '../mail/mail.service';
import { OneTimeTokensService } from '../tokens/one-time-tokens.service';

/** How long a verification link works. Not configurable: a resend gives a fresh link. */
export const EMAIL_VERIFICATION_TTL_SECONDS = 72 * 3600;

@Injectable()
export class EmailVerificationService {
  constructor(
    private readonly oneTimeTokens: OneTimeTokensService,
    private readonly mail: MailService,
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
}
