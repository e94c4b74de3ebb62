// Password reset and change, e-mail verification and resend. Every mail these flows cause is
// written to the outbox in the same transaction as the state change it reports (the token, the new
// password hash), so an answered request never loses its mail; SMTP is never in the request path.
import { Injectable } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import {
  ClientInfo,
  PasswordChangedEvent,
  PasswordResetEvent,
  UserUpdatedEvent,
} from '../../common/events/domain-events';
import type { AuthContext } from '../../common/http/auth-context';
import type { AuthConfig, LatchConfig } from '../../config/configuration';
import { MailService } from '../mail/mail.service';
import { OneTimeTokensService } from '../tokens/one-time-tokens.service';
import { TokensService } from '../tokens/tokens.service';
import { UsersService } from '../users/users.service';
import { DomainEvents } from '../../common/events/domain-events.service';
import { AuthService } from './auth.service';
import { PasswordResetRequestsRepository } from './password-reset-requests.repository';
import { EmailVerificationService } from './email-verification.service';
import { MailRequestQuota } from './mail-request-quota';
import { PasswordHasher } from './passwords/password-hasher.service';
import { checkPassword } from './passwords/password-policy';

/** A forgot-password request not processed after this long (a crash) is picked up by the sweep. */
const RESET_REQUEST_STALE_SECONDS = 5;
const RESET_SWEEP_MS = 10_000;
const RESET_SWEEP_BATCH = 50;
/**
 * Reset requests processed at once, as a share of the connection pool. Each holds a connection for its
 * transaction while the quota and the account lookup take another, so an unbounded burst (bench:
 * 16 concurrent forgot-password requests on the default pool of 20) held the whole pool and waited
 * for more: seconds per request, for every route. A quarter of the pool keeps half of it free.
 */
const RESET_PROCESS_SHARE_OF_POOL = 1 / 4;

function invalidToken(): AppError {
  return new AppError(ErrorCode.InvalidToken, 'The link is invalid, expired or already used.');
}

@Injectable()
export class AccountRecoveryService {
  private readonly config: AuthConfig;
  private readonly resetConcurrency: number;
  private resetProcessing = 0;
  private readonly resetWaiting: (() => void)[] = [];

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly oneTimeTokens: OneTimeTokensService,
    private readonly tokens: TokensService,
    private readonly passwords: PasswordHasher,
    private readonly mail: MailService,
    private readonly verification: EmailVerificationService,
    private readonly quota: MailRequestQuota,
    private readonly auth: AuthService,
    private readonly events: DomainEvents,
    private readonly resetRequests: PasswordResetRequestsRepository,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.config = config.get('auth', { infer: true });
    const poolMax = config.get('database', { infer: true }).poolMax;
    this.resetConcurrency = Math.max(1, Math.floor(poolMax * RESET_PROCESS_SHARE_OF_POOL));
  }

  /**
   * Records the request and answers. The request path does the same single INSERT whether or not
   * the address has an account, so neither the answer nor its timing tells; the lookup, the quota,
   * the token and the mail happen after the response, in one transaction that also consumes the
   * recorded request, so a crash in between only delays the mail until the sweep finds the row.
   */
  async forgotPassword(email: string): Promise<void> {
    const id = await this.resetRequests.record(email.normalize('NFC').trim());
    void this.events.track('password reset request', () =>
      this.limitResetProcessing(() => this.processResetRequest(id)),
    );
  }

  /** Picks up requests whose after-response processing never ran (a crash, a restart). */
  @Interval('password-reset-requests-sweep', RESET_SWEEP_MS)
  async sweepResetRequests(): Promise<void> {
    for (let i = 0; i < RESET_SWEEP_BATCH; i++) {
      if (!(await this.limitResetProcessing(() => this.processResetRequest(null)))) return;
    }
  }

  /** Runs `work` when fewer than resetConcurrency run, else after its turn (FIFO). */
  private async limitResetProcessing<T>(work: () => Promise<T>): Promise<T> {
    if (this.resetProcessing < this.resetConcurrency) this.resetProcessing += 1;
    else await new Promise<void>((resolve) => this.resetWaiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.resetWaiting.shift();
      if (next) next();
      else this.resetProcessing -= 1;
    }
  }

  /** Turns one recorded request into a token and a mail; false when there was none to take. */
  private processResetRequest(id: string | null): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const request = await this.resetRequests.take(manager, id, RESET_REQUEST_STALE_SECONDS);
      if (!request) return false;
      const withinQuota = await this.quota.take('password-reset', request.address);
      const user = withinQuota ? await this.users.findForLogin(request.address) : null;
      if (!user) return true;
      const ttlSeconds = this.config.passwordResetTtl;
      const token = await this.oneTimeTokens.issue(manager, user.id, 'password_reset', ttlSeconds, true);
      await this.mail.forgetTokens(manager, user.id, 'reset-password'); // the older links were just voided
      await this.mail.queue(manager, {
        template: 'reset-password',
        to: user.email,
        userId: user.id,
        secret: token,
        data: { ttlSeconds: String(ttlSeconds) },
      });
      return true;
    });
  }

  /**
   * Spends a reset token and sets the new password; every other reset link of the user dies, every
   * session ends, and "password changed" is queued with the new hash. A reset also proves the
   * address, so it counts as verified from then on.
   */
  async resetPassword(token: string, password: string, client: ClientInfo): Promise<void> {
    const problem = checkPassword(password, this.config.passwordMinLength);
    if (problem)
      throw new AppError(ErrorCode.ValidationFailed, 'The password does not meet the rules.', { errors: [problem] });
    // Made-up tokens cost one lookup, not a bcrypt hash; the token is spent only in the transaction.
    if (!(await this.oneTimeTokens.isLive(this.db.manager, token, 'password_reset'))) throw invalidToken();
    const passwordHash = await this.passwords.hash(password);
    const ended: string[] = [];
    const userId = await this.db.transaction(async (manager) => {
      const owner = await this.oneTimeTokens.redeem(manager, token, 'password_reset');
      if (!owner) throw invalidToken();
      const user = await this.users.getById(owner);
      if (!user) throw invalidToken();
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
      ended.push(...(await this.tokens.revokeAllSessions(owner, 'password_reset')));
      return owner;
    });
    // ...and again after it, for a session opened with the old password while the transaction ran.
    ended.push(...(await this.tokens.revokeAllSessions(userId, 'password_reset')));
    this.events.publish(new PasswordResetEvent(userId, client));
    await this.auth.sessionsEnded(userId, ended, 'password_reset', client);
  }

  /** Needs the current password; ends the user's other sessions and queues "password changed". */
  async changePassword(auth: AuthContext, current: string, next: string, client: ClientInfo): Promise<void> {
    const problem = checkPassword(next, this.config.passwordMinLength, 'newPassword');
    if (problem)
      throw new AppError(ErrorCode.ValidationFailed, 'The password does not meet the rules.', { errors: [problem] });
    const user = await this.users.getById(auth.userId);
    const storedHash = user ? await this.users.getPasswordHash(auth.userId) : null;
    if (!user || !(await this.passwords.verify(current, storedHash))) {
      throw new AppError(ErrorCode.ValidationFailed, 'The current password is incorrect.', {
        errors: [{ field: 'currentPassword', message: 'does not match your current password' }],
      });
    }
    const passwordHash = await this.passwords.hash(next);
    await this.db.transaction(async (manager) => {
      await this.users.setPasswordHash(user.id, passwordHash, manager);
      await this.mail.queue(manager, {
        template: 'password-changed',
        to: user.email,
        userId: user.id,
        data: { reason: 'change', at: new Date().toISOString(), ip: client.ip, userAgent: client.userAgent },
      });
    });
    const ended = await this.tokens.revokeAllSessions(user.id, 'password_changed', auth.sessionId);
    this.events.publish(new PasswordChangedEvent(user.id, client));
    await this.auth.sessionsEnded(user.id, ended, 'password_changed', client);
  }

  async verifyEmail(token: string): Promise<void> {
    const userId = await this.db.transaction(async (manager) => {
      const owner = await this.oneTimeTokens.redeem(manager, token, 'email_verification');
      if (!owner) throw invalidToken();
      await this.users.markEmailVerified(owner, manager);
      await this.oneTimeTokens.voidAll(manager, owner, 'email_verification');
      await this.mail.forgetTokens(manager, owner, 'verify-email');
      return owner;
    });
    // Announced after the commit, so that no cache reloads the unverified row in between.
    this.events.publish(new UserUpdatedEvent(userId));
  }

  /** Queues a fresh verification mail unless the address is verified or over its quota. */
  async resendVerification(auth: AuthContext): Promise<void> {
    const user = await this.users.getById(auth.userId);
    if (!user || user.emailVerified) return;
    if (!(await this.quota.take('verify-email', user.email))) return;
    await this.db.transaction((manager) => this.verification.queue(manager, user));
  }
}
