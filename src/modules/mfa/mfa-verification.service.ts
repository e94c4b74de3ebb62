// Checking a second-factor code (docs/security.md, "Multi-factor"): a TOTP code (each step accepted
// once) or an unused recovery code. It answers the sign-in challenge between a correct password and
// the second factor, and guards turning MFA off and new recovery codes (withAccountCode). A wrong
// code counts on the account's login protection, like a wrong password.
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import {
  ClientInfo,
  LoginFailedEvent,
  PasswordCheckFailedEvent,
  RecoveryCodeUsedEvent,
} from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { SecretBox } from '../crypto/secret-box.service';
import { MailService } from '../mail/mail.service';
import { LoginProtectionService } from '../throttle/login-protection.service';
import { UsersService } from '../users/users.service';
import { factorSecretContext } from './factor-secret';
import { MfaRepository } from './mfa.repository';
import { noticeData } from './mfa-notices';
import { RECOVERY_CODE_PATTERN, recoveryCodeHash } from './recovery-codes';
import { matchingStep, TOTP_CODE_PATTERN } from './totp';

export const MFA_CHALLENGE_TTL_SECONDS = 300;
export const MFA_METHODS = ['totp', 'recovery_code'] as const;
const MFA_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface MfaChallenge {
  mfaRequired: true;
  mfaToken: string;
  expiresIn: number;
  methods: (typeof MFA_METHODS)[number][];
}

type CodeOutcome = { method: 'totp' } | { method: 'recovery_code'; remaining: number };

export function invalidMfaCode(): AppError {
  return new AppError(ErrorCode.InvalidMfaCode, 'The code is incorrect, already used, or the sign-in has expired.');
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Thrown inside a transaction to roll it back for a wrong code. */
class WrongCode extends Error {}

@Injectable()
export class MfaVerificationService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repository: MfaRepository,
    private readonly box: SecretBox,
    private readonly users: UsersService,
    private readonly mail: MailService,
    private readonly loginProtection: LoginProtectionService,
    private readonly events: DomainEvents,
  ) {}

  /** After a correct password for an account with MFA on: the challenge the client answers. */
  async startChallenge(userId: string): Promise<MfaChallenge> {
    const mfaToken = randomBytes(32).toString('base64url');
    await this.repository.createChallenge(
      tokenHash(mfaToken),
      userId,
      new Date(Date.now() + MFA_CHALLENGE_TTL_SECONDS * 1000),
    );
    return { mfaRequired: true, mfaToken, expiresIn: MFA_CHALLENGE_TTL_SECONDS, methods: [...MFA_METHODS] };
  }

  /**
   * Answers a challenge: the user's id when `code` is right (the challenge is then spent). A wrong
   * code counts against the challenge (five and it is dead) and on the account's login protection.
   */
  async completeChallenge(mfaToken: string, code: string, client: ClientInfo): Promise<string> {
    if (!MFA_TOKEN_PATTERN.test(mfaToken)) throw invalidMfaCode();
    const hash = tokenHash(mfaToken);
    const userId = await this.repository.liveChallengeUser(hash);
    if (!userId) throw invalidMfaCode();
    const counter = this.loginProtection.accountCounter(userId);
    await this.loginProtection.admit(counter, () =>
      this.events.publish(new LoginFailedEvent(userId, 'locked', client)),
    );
    let outcome: CodeOutcome | null;
    try {
      outcome = await this.db.transaction(async (manager) => {
        if ((await this.repository.claimChallenge(manager, hash)) !== userId) return null;
        const checked = await this.checkCode(manager, userId, code);
        if (!checked) throw new WrongCode();
        if (checked.method === 'recovery_code')
          await this.queueRecoveryNotice(manager, userId, checked.remaining, client);
        return checked;
      });
    } catch (error) {
      if (!(error instanceof WrongCode)) {
        await this.loginProtection.abandoned(counter); // an outage is no wrong code
        throw error;
      }
      await this.repository.countChallengeFailure(hash);
      this.events.publish(new LoginFailedEvent(userId, 'invalid_mfa_code', client));
      throw invalidMfaCode();
    }
    if (!outcome) {
      await this.loginProtection.abandoned(counter); // claimed by a concurrent request: no guess was made
      throw invalidMfaCode();
    }
    if (outcome.method === 'recovery_code') this.events.publish(new RecoveryCodeUsedEvent(userId, client));
    return userId;
  }

  /**
   * Runs `work` in a transaction if `code` is a current code of the user's; a wrong code is 401,
   * audited and counted on the account's login protection, like a wrong password.
   */
  async withAccountCode(
    userId: string,
    code: string,
    client: ClientInfo,
    work: (manager: EntityManager) => Promise<void>,
  ): Promise<void> {
    const counter = this.loginProtection.accountCounter(userId);
    await this.loginProtection.admit(counter, () =>
      this.events.publish(new PasswordCheckFailedEvent(userId, 'locked', client)),
    );
    try {
      await this.db.transaction(async (manager) => {
        const checked = await this.checkCode(manager, userId, code);
        if (!checked) throw new WrongCode();
        if (checked.method === 'recovery_code')
          await this.queueRecoveryNotice(manager, userId, checked.remaining, client);
        await work(manager);
      });
    } catch (error) {
      if (!(error instanceof WrongCode)) {
        await this.loginProtection.abandoned(counter);
        throw error;
      }
      this.events.publish(new PasswordCheckFailedEvent(userId, 'invalid_mfa_code', client));
      throw invalidMfaCode();
    }
    await this.loginProtection.succeeded(counter);
  }

  /** A TOTP code (a step later than the last accepted) or an unused recovery code; null otherwise. */
  private async checkCode(manager: EntityManager, userId: string, code: string): Promise<CodeOutcome | null> {
    if (TOTP_CODE_PATTERN.test(code)) {
      const factor = await this.repository.getFactor(userId, manager);
      if (!factor?.confirmedAt) return null;
      const secret = this.box.open(factor.secret, factorSecretContext(userId));
      const step = matchingStep(secret, code);
      if (step === null || !(await this.repository.takeStep(manager, userId, step, false))) return null;
      if (this.box.isStale(factor.secret)) {
        await this.repository.resealSecret(manager, userId, this.box.seal(secret, factorSecretContext(userId)));
      }
      return { method: 'totp' };
    }
    if (RECOVERY_CODE_PATTERN.test(code)) {
      const remaining = await this.repository.useRecoveryCode(manager, userId, recoveryCodeHash(userId, code));
      return remaining === null ? null : { method: 'recovery_code', remaining };
    }
    return null;
  }

  private async queueRecoveryNotice(
    manager: EntityManager,
    userId: string,
    remaining: number,
    client: ClientInfo,
  ): Promise<void> {
    const user = await this.users.getById(userId);
    if (!user) return;
    await this.mail.queue(manager, {
      template: 'recovery-code-used',
      to: user.email,
      userId,
      data: noticeData(client, { remaining: String(remaining) }),
    });
  }
}
