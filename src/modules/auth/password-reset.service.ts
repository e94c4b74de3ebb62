// Forgot-password and reset. The request path only records the request (the same single INSERT
// whether or not the address has an account); PasswordResetRequestsProcessor does the rest after
// the response. Every mail is written to the outbox in the transaction of the state change it
// reports, so an answered request never loses its mail; SMTP is never in the request path.
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { LatchConfig } from '../../config/configuration';
import { ClientInfo, PasswordResetEvent } from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { MailService } from '../mail/mail.service';
import { LoginProtectionService } from '../throttle/login-protection.service';
import { invalidOneTimeToken, OneTimeTokensService } from '../tokens/one-time-tokens.service';
import { TokensService } from '../tokens/tokens.service';
import { UsersService } from '../users/users.service';
import { loginNamesOf } from './auth.service';
import { PasswordResetRequestsProcessor } from './password-reset-requests.processor';
import { PasswordResetRequestsRepository } from './password-reset-requests.repository';
import { PasswordHasher } from './passwords/password-hasher.service';
import { assertPasswordAllowed } from './passwords/password-policy';

@Injectable()
export class PasswordResetService {
  private readonly logger = new Logger(PasswordResetService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly requests: PasswordResetRequestsRepository,
    private readonly processor: PasswordResetRequestsProcessor,
    private readonly users: UsersService,
    private readonly oneTimeTokens: OneTimeTokensService,
    private readonly tokens: TokensService,
    private readonly passwords: PasswordHasher,
    private readonly mail: MailService,
    private readonly events: DomainEvents,
    private readonly config: ConfigService<LatchConfig, true>,
    private readonly loginProtection: LoginProtectionService,
  ) {}

  /**
   * Records the request and answers. Neither the answer nor its timing tells whether the address
   * has an account: the lookup, the quota, the token and the mail happen after the response.
   */
  async forgotPassword(email: string): Promise<void> {
    const id = await this.requests.record(email.normalize('NFC').trim());
    this.processor.processAfterResponse(id);
  }

  /**
   * Spends a reset token and sets the new password; every other reset link of the user dies, every
   * session ends, and "password changed" is queued with the new hash. A reset also proves the
   * address, so it counts as verified from then on. It also clears the account's sign-in protection:
   * whoever proves control of the mailbox is never kept out by an attacker's trickle of guesses.
   */
  async resetPassword(token: string, password: string, client: ClientInfo): Promise<void> {
    assertPasswordAllowed(password, this.config.get('auth', { infer: true }).passwordMinLength);
    // Made-up tokens cost one lookup, not a bcrypt hash; the token is spent only in the transaction.
    if (!(await this.oneTimeTokens.isLive(this.db.manager, token, 'password_reset'))) throw invalidOneTimeToken();
    const passwordHash = await this.passwords.hash(password);
    const { userId, names } = await this.db.transaction(async (manager) => {
      const owner = await this.oneTimeTokens.redeem(manager, token, 'password_reset');
      if (!owner) throw invalidOneTimeToken();
      const user = await this.users.getById(owner);
      if (!user) throw invalidOneTimeToken();
      await this.oneTimeTokens.voidAll(manager, owner, 'password_reset');
      await this.mail.forgetTokens(manager, owner, 'reset-password');
      await this.users.setPasswordHash(owner, passwordHash, manager);
      await this.users.markEmailVerified(owner, manager);
      await this.mail.queue(manager, {
        template: 'password-changed',
        to: user.email,
        userId: owner,
        data: { reason: 'reset', at: new Date().toISOString(), ip: client.ip, userAgent: client.userAgent },
      });
      // Ended before the commit too, so that a crash right after it cannot leave the old sessions alive.
      await this.tokens.revokeAllSessions(owner, 'password_reset', client);
      return { userId: owner, names: loginNamesOf(user) };
    });
    // ...and again after it, for a session opened with the old password while the transaction ran.
    await this.tokens.revokeAllSessions(userId, 'password_reset', client);
    // Best effort: the reset has committed, and an unreadable count still expires on its own.
    await this.users
      .loginNames(names)
      .then((compared) => this.loginProtection.clearAccount(userId, compared))
      .catch((error: unknown) => this.logger.warn(`Could not clear the sign-in count of ${userId}: ${String(error)}`));
    const event = new PasswordResetEvent(userId, client);
    this.events.publish(event);
  }
}
