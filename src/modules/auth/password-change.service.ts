// Changing a known password: needs the current one; the user's other sessions end and "password
// changed" is queued in the transaction that stores the new hash. The current-password check counts
// on the account's sign-in protection like a login (a stolen access token cannot guess without
// limit), and a wrong one is audited.
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { LatchConfig } from '../../config/configuration';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import { ClientInfo, PasswordChangedEvent, PasswordCheckFailedEvent } from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { MailService } from '../mail/mail.service';
import { LoginProtectionService } from '../throttle/login-protection.service';
import { TokensService } from '../tokens/tokens.service';
import { UsersService } from '../users/users.service';
import { AuthContext, sessionOf } from './auth-context';
import { loginNamesOf } from './auth.service';
import { PasswordHasher } from './passwords/password-hasher.service';
import { assertPasswordAllowed } from './passwords/password-policy';

@Injectable()
export class PasswordChangeService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly users: UsersService,
    private readonly tokens: TokensService,
    private readonly passwords: PasswordHasher,
    private readonly mail: MailService,
    private readonly events: DomainEvents,
    private readonly config: ConfigService<LatchConfig, true>,
    private readonly loginProtection: LoginProtectionService,
  ) {}

  /** Needs the current password; ends the user's other sessions and queues "password changed". */
  async changePassword(auth: AuthContext, current: string, next: string, client: ClientInfo): Promise<void> {
    assertPasswordAllowed(next, this.config.get('auth', { infer: true }).passwordMinLength, 'newPassword');
    const counter = this.loginProtection.accountCounter(auth.userId);
    await this.loginProtection.admit(counter, () =>
      this.events.publish(new PasswordCheckFailedEvent(auth.userId, 'locked', client)),
    );
    let user: Awaited<ReturnType<UsersService['getById']>>;
    let valid: boolean;
    try {
      user = await this.users.getById(auth.userId);
      const storedHash = user ? await this.users.getPasswordHash(auth.userId) : null;
      valid = await this.passwords.verify(current, storedHash);
    } catch (error) {
      await this.loginProtection.abandoned(counter); // an outage or a full queue is no failed guess
      throw error;
    }
    if (!user || !valid) {
      this.events.publish(new PasswordCheckFailedEvent(auth.userId, 'invalid_credentials', client));
      throw new AppError(ErrorCode.ValidationFailed, 'The current password is incorrect.', {
        errors: [{ field: 'currentPassword', message: 'does not match your current password' }],
      });
    }
    await this.loginProtection.clearAccount(user.id, await this.users.loginNames(loginNamesOf(user)));
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
    await this.tokens.revokeAllSessions(user.id, 'password_changed', client, sessionOf(auth).sessionId);
    const event = new PasswordChangedEvent(user.id, client);
    this.events.publish(event);
  }
}
