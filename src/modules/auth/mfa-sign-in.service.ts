// The auth side of multi-factor sign-in: the second step of a login (a code for the challenge, then
// the same session start as a login without MFA), and the password check in front of enrolment,
// disabling and new recovery codes. The factor itself belongs to the mfa module.
import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import { ClientInfo, LoginFailedEvent, PasswordCheckFailedEvent } from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { MfaEnrolmentService, type TotpSetup } from '../mfa/mfa-enrolment.service';
import { invalidMfaCode, MfaVerificationService } from '../mfa/mfa-verification.service';
import { LoginProtectionService } from '../throttle/login-protection.service';
import type { UserEntity } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import type { AuthContext } from './auth-context';
import { AuthService, loginNamesOf } from './auth.service';
import type { TokenPairResponse } from './dto/token-pair.response';
import { PasswordHasher } from './passwords/password-hasher.service';

@Injectable()
export class MfaSignInService {
  constructor(
    private readonly auth: AuthService,
    private readonly mfaEnrolment: MfaEnrolmentService,
    private readonly mfaVerification: MfaVerificationService,
    private readonly users: UsersService,
    private readonly passwords: PasswordHasher,
    private readonly loginProtection: LoginProtectionService,
    private readonly events: DomainEvents,
  ) {}

  /** Completes a login that asked for a second factor: the same tokens, events and notices as a login. */
  async verify(mfaToken: string, code: string, client: ClientInfo): Promise<TokenPairResponse> {
    const userId = await this.mfaVerification.completeChallenge(mfaToken, code, client);
    const user = await this.users.getById(userId);
    if (!user || user.status !== 'active') {
      this.events.publish(
        new LoginFailedEvent(userId, user?.status === 'pending_approval' ? 'pending_approval' : 'disabled', client),
      );
      throw invalidMfaCode();
    }
    await this.loginProtection.clearAccount(user.id, await this.users.loginNames(loginNamesOf(user)));
    return this.auth.startSession(user, client);
  }

  async setup(auth: AuthContext, password: string, client: ClientInfo): Promise<TotpSetup> {
    const user = await this.checkPassword(auth.userId, password, client);
    await this.loginProtection.succeeded(this.loginProtection.accountCounter(user.id));
    return this.mfaEnrolment.setup(user);
  }

  async confirm(auth: AuthContext, code: string, client: ClientInfo): Promise<string[]> {
    const user = await this.users.getByIdOrFail(auth.userId);
    return this.mfaEnrolment.confirm(user, code, client);
  }

  async disable(auth: AuthContext, password: string, code: string, client: ClientInfo): Promise<void> {
    const user = await this.checkPassword(auth.userId, password, client);
    await this.mfaEnrolment.disable(user, code, client);
  }

  async regenerateRecoveryCodes(
    auth: AuthContext,
    password: string,
    code: string,
    client: ClientInfo,
  ): Promise<string[]> {
    const user = await this.checkPassword(auth.userId, password, client);
    return this.mfaEnrolment.regenerateRecoveryCodes(user.id, code, client);
  }

  /**
   * The signed-in user's password, counted on the account's sign-in protection like a login. A
   * correct one does not clear the count: the code that follows (or setup) decides.
   */
  private async checkPassword(userId: string, password: string, client: ClientInfo): Promise<UserEntity> {
    const counter = this.loginProtection.accountCounter(userId);
    await this.loginProtection.admit(counter, () =>
      this.events.publish(new PasswordCheckFailedEvent(userId, 'locked', client)),
    );
    let user: UserEntity | null;
    let valid: boolean;
    try {
      user = await this.users.getById(userId);
      valid = await this.passwords.verify(password, user ? await this.users.getPasswordHash(userId) : null);
    } catch (error) {
      await this.loginProtection.abandoned(counter); // an outage or a full queue is no failed guess
      throw error;
    }
    if (!user || !valid) {
      this.events.publish(new PasswordCheckFailedEvent(userId, 'invalid_credentials', client));
      throw new AppError(ErrorCode.ValidationFailed, 'The password is incorrect.', {
        errors: [{ field: 'password', message: 'does not match your current password' }],
      });
    }
    return user;
  }
}
