// The TOTP factor's life (docs/security.md, "Multi-factor"): enrolment (a sealed secret and its QR
// code, then the first code turns MFA on with ten recovery codes), new recovery codes, turning it off
// (by the user with a current code, or by an admin), and the start-up check that ENCRYPTION_KEY opens
// the stored secrets. The password checks stay with auth, which calls this service.
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import {
  ClientInfo,
  MfaDisabledEvent,
  MfaEnabledEvent,
  RecoveryCodesRegeneratedEvent,
} from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import type { LatchConfig } from '../../config/configuration';
import { SecretBox, SecretBoxError } from '../crypto/secret-box.service';
import { MailService } from '../mail/mail.service';
import type { UserEntity } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { factorSecretContext } from './factor-secret';
import { MfaRepository } from './mfa.repository';
import { noticeData } from './mfa-notices';
import { invalidMfaCode, MfaVerificationService } from './mfa-verification.service';
import { newRecoveryCodes, recoveryCodeHash } from './recovery-codes';
import { matchingStep, newTotpSecret, totpUri } from './totp';

export interface TotpSetup {
  secret: string;
  otpauthUri: string;
  qrCodeSvg: string;
}

@Injectable()
export class MfaEnrolmentService implements OnApplicationBootstrap {
  // The log context these lines have always had, so log filters keep finding them.
  private readonly logger = new Logger('MfaService');
  private readonly issuer: string;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repository: MfaRepository,
    private readonly box: SecretBox,
    private readonly users: UsersService,
    private readonly mail: MailService,
    private readonly verification: MfaVerificationService,
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
      this.box.open(stored.secret, factorSecretContext(stored.userId));
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
    const saved = await this.repository.savePendingFactor(user.id, this.box.seal(secret, factorSecretContext(user.id)));
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
    const step = matchingStep(this.box.open(factor.secret, factorSecretContext(user.id)), code);
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
        data: noticeData(client),
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
    await this.verification.withAccountCode(user.id, code, client, async (manager) => {
      await this.repository.deleteFactor(manager, user.id);
      await this.users.setMfaEnabled(user.id, false, manager);
      await this.mail.queue(manager, {
        template: 'mfa-disabled',
        to: user.email,
        userId: user.id,
        data: noticeData(client, { reason: 'user' }),
      });
    });
    await this.users.evictCached(user.id);
    this.events.publish(new MfaDisabledEvent(user.id, 'user', client));
  }

  /** Ten new recovery codes with a current code; the old ones stop working. */
  async regenerateRecoveryCodes(userId: string, code: string, client: ClientInfo): Promise<string[]> {
    await this.requireEnabled(userId);
    const codes = newRecoveryCodes();
    await this.verification.withAccountCode(userId, code, client, (manager) =>
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
          data: noticeData(client, { reason: 'admin_reset' }),
        });
      }
      return changed;
    });
    await this.users.evictCached(userId);
    if (wasOn) this.events.publish(new MfaDisabledEvent(userId, 'admin_reset', client, actorId));
    return this.users.getByIdOrFail(userId);
  }

  private async requireEnabled(userId: string): Promise<void> {
    const factor = await this.repository.getFactor(userId);
    if (!factor?.confirmedAt) throw new AppError(ErrorCode.ValidationFailed, 'Multi-factor sign-in is not on.');
  }
}
