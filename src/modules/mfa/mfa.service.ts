// Multi-factor sign-in (docs/security.md, "Multi-factor"): enrolment of a TOTP factor, recovery
// codes, the challenge between a correct password and the second factor, and turning it off. The
// password checks and the issuing of tokens stay with auth, which calls this service.
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import {
  ClientInfo,
  LoginFailedEvent,
  MfaDisabledEvent,
  MfaEnabledEvent,
  PasswordCheckFailedEvent,
  RecoveryCodesRegeneratedEvent,
  RecoveryCodeUsedEvent,
} from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import type { LatchConfig } from '../../config/configuration';
import { SecretBox, SecretBoxError } from '../crypto/secret-box.service';
import { MailService } from '../mail/mail.service';
import { LoginProtectionService } from '../throttle/login-protection.service';
import type { UserEntity } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { MfaRepository } from './mfa.repository';
import { newRecoveryCodes, RECOVERY_CODE_PATTERN, recoveryCodeHash } from './recovery-codes';
import { matchingStep, newTotpSecret, TOTP_CODE_PATTERN, totpUri } from './totp';

export const MFA_CHALLENGE_TTL_SECONDS = 300;
export const MFA_METHODS = ['totp', 'recovery_code'] as const;
const MFA_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface MfaChallenge {
  mfaRequired: true;
  mfaToken: string;
  expiresIn: number;
  methods: (typeof MFA_METHODS)[number][];
}

export interface TotpSetup {
  secret: string;
  otpauthUri: string;
  qrCodeSvg: string;
}

type CodeOutcome = { method: 'totp' } | { method: 'recovery_code'; remaining: number };

export function invalidMfaCode(): AppError {
  return new AppError(ErrorCode.InvalidMfaCode, 'The code is incorrect, already used, or the sign-in has expired.');
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The factor's secret is bound to its row: a value copied to another user does not open. */
function secretContext(userId: string): string {
  return `mfa_factors.secret:${userId}`;
}

function mailData(client: ClientInfo, extra: Record<string, string> = {}): Record<string, string | null> {
  return { at: new Date().toISOString(), ip: client.ip, userAgent: client.userAgent, ...extra };
}

/** Thrown inside a transaction to roll it back for a wrong code. */
class WrongCode extends Error {}

@Injectable()
export class MfaService implements OnApplicationBootstrap {
  private readonly logger = new Logger(MfaService.name);
  private readonly issuer: string;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repository: MfaRepository,
    private readonly box: SecretBox,
    private readonly users: UsersService,
    private readonly mail: MailService,
    private readonly loginProtection: LoginProtectionService,
    private readonly events: DomainEvents,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.issuer = config.get('auth', { infer: true }).mfaIssuer;
  }

  /**
   * Refuses to start when ENCRYPTION_KEY no longer opens the stored TOTP secrets: better no service
   * than every MFA user silently locked out. A database that cannot be asked now is not a reason.
   */
  async onApplicationBootstrap(): Promise<void> {
    let stored: Awaited<ReturnType<MfaRepository['anySecret']>>;
    try {
      stored = await this.repository.anySecret();
    } catch (error) {
      this.logger.warn(`Could not check the stored TOTP secrets against ENCRYPTION_KEY: ${String(error)}`);
      return;
    }
    if (!stored) return;
    try {
      this.box.open(stored.secret, secretContext(stored.userId));
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      throw new Error(
        `ENCRYPTION_KEY does not open the stored TOTP secrets (${error.message}); refusing to start. ` +
          'List the old key after the new one (ENCRYPTION_KEY=new,old) to rotate.',
        { cause: error },
      );
    }
  }

  /** Starts (or restarts) enrolment; the caller has checked the password. */
  async setup(user: Pick<UserEntity, 'id' | 'email'>): Promise<TotpSetup> {
    const secret = newTotpSecret();
    const saved = await this.repository.savePendingFactor(user.id, this.box.seal(secret, secretContext(user.id)));
    if (!saved)
      throw new AppError(ErrorCode.ValidationFailed, 'Multi-factor sign-in is already on; turn it off first.');
    const otpauthUri = totpUri(secret, this.issuer, user.email);
    // Loaded with the first enrolment, not at start (docs/operations.md#memory).
    const { toString: renderQrCode } = await import('qrcode');
    return { secret, otpauthUri, qrCodeSvg: await renderQrCode(otpauthUri, { type: 'svg', margin: 2 }) };
  }

  /** The first code turns MFA on; returns the ten recovery codes, shown this once. */
  async confirm(user: Pick<UserEntity, 'id' | 'email'>, code: string, client: ClientInfo): Promise<string[]> {
    const factor = await this.repository.getFactor(user.id);
    if (!factor || factor.confirmedAt) {
      throw new AppError(
        ErrorCode.ValidationFailed,
        factor ? 'Multi-factor sign-in is already on.' : 'Start with POST /auth/mfa/totp/setup.',
      );
    }
    const step = matchingStep(this.box.open(factor.secret, secretContext(user.id)), code);
    const codes = newRecoveryCodes();
    const confirmed = await this.db.transaction(async (manager) => {
      if (step === null || !(await this.repository.takeStep(manager, user.id, step, true))) return false;
      await this.repository.replaceRecoveryCodes(
        manager,
        user.id,
        codes.map((c) => recoveryCodeHash(user.id, c)),
      );
      await this.users.setMfaEnabled(user.id, true, manager);
      await this.mail.queue(manager, {
        template: 'mfa-enabled',
        to: user.email,
        userId: user.id,
        data: mailData(client),
      });
      return true;
    });
    if (!confirmed) throw invalidMfaCode();
    await this.users.evictCached(user.id);
    this.events.publish(new MfaEnabledEvent(user.id, client));
    return codes;
  }

  /** Turns MFA off with a current code (TOTP or recovery); the caller has checked the password. */
  async disable(user: Pick<UserEntity, 'id' | 'email'>, code: string, client: ClientInfo): Promise<void> {
    await this.requireEnabled(user.id);
    await this.withAccountCode(user.id, code, client, async (manager) => {
      await this.repository.deleteFactor(manager, user.id);
      await this.users.setMfaEnabled(user.id, false, manager);
      await this.mail.queue(manager, {
        template: 'mfa-disabled',
        to: user.email,
        userId: user.id,
        data: mailData(client, { reason: 'user' }),
      });
    });
    await this.users.evictCached(user.id);
    this.events.publish(new MfaDisabledEvent(user.id, 'user', client));
  }

  /** Ten new recovery codes with a current code; the old ones stop working. */
  async regenerateRecoveryCodes(userId: string, code: string, client: ClientInfo): Promise<string[]> {
    await this.requireEnabled(userId);
    const codes = newRecoveryCodes();
    await this.withAccountCode(userId, code, client, (manager) =>
      this.repository.replaceRecoveryCodes(
        manager,
        userId,
        codes.map((c) => recoveryCodeHash(userId, c)),
      ),
    );
    this.events.publish(new RecoveryCodesRegeneratedEvent(userId, client));
    return codes;
  }

  /** An admin turns a user's MFA off (lost device). Mails the user when it was on. */
  async adminReset(userId: string, actorId: string, client: ClientInfo): Promise<UserEntity> {
    const user = await this.users.getByIdOrFail(userId);
    const wasOn = await this.db.transaction(async (manager) => {
      await this.repository.deleteFactor(manager, userId);
      const changed = await this.users.setMfaEnabled(userId, false, manager);
      if (changed) {
        await this.mail.queue(manager, {
          template: 'mfa-disabled',
          to: user.email,
          userId,
          data: mailData(client, { reason: 'admin_reset' }),
        });
      }
      return changed;
    });
    await this.users.evictCached(userId);
    if (wasOn) this.events.publish(new MfaDisabledEvent(userId, 'admin_reset', client, actorId));
    return this.users.getByIdOrFail(userId);
  }

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
    await this.loginProtection.admit(counter).catch((error: unknown) => {
      if (error instanceof AppError && error.code === ErrorCode.RateLimited) {
        this.events.publish(new LoginFailedEvent(userId, 'locked', client));
      }
      throw error;
    });
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

  private async requireEnabled(userId: string): Promise<void> {
    const factor = await this.repository.getFactor(userId);
    if (!factor?.confirmedAt) throw new AppError(ErrorCode.ValidationFailed, 'Multi-factor sign-in is not on.');
  }

  /**
   * Runs `work` in a transaction if `code` is a current code of the user's; a wrong code is 401,
   * audited and counted on the account's login protection, like a wrong password.
   */
  private async withAccountCode(
    userId: string,
    code: string,
    client: ClientInfo,
    work: (manager: EntityManager) => Promise<void>,
  ): Promise<void> {
    const counter = this.loginProtection.accountCounter(userId);
    await this.loginProtection.admit(counter).catch((error: unknown) => {
      if (error instanceof AppError && error.code === ErrorCode.RateLimited) {
        this.events.publish(new PasswordCheckFailedEvent(userId, 'locked', client));
      }
      throw error;
    });
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
      const secret = this.box.open(factor.secret, secretContext(userId));
      const step = matchingStep(secret, code);
      if (step === null || !(await this.repository.takeStep(manager, userId, step, false))) return null;
      if (this.box.isStale(factor.secret)) {
        await this.repository.resealSecret(manager, userId, this.box.seal(secret, secretContext(userId)));
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
      data: mailData(client, { remaining: String(remaining) }),
    });
  }
}
