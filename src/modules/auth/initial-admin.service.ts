// Creates the first admin from ADMIN_EMAIL / ADMIN_PASSWORD at start, when no admin exists yet.
// An existing account with that address is never promoted: whoever registered it first would
// otherwise become admin.
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { AppConfig, LatchConfig } from '../../config/configuration';
import { UsersService } from '../users/users.service';
import { PasswordHasher } from './passwords/password-hasher.service';
import { checkPassword } from './passwords/password-policy';

@Injectable()
export class InitialAdminService implements OnApplicationBootstrap {
  private readonly logger = new Logger('InitialAdmin');
  private readonly config: AppConfig;
  private readonly passwordMinLength: number;

  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordHasher,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.config = config.get('app', { infer: true });
    this.passwordMinLength = config.get('auth', { infer: true }).passwordMinLength;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { adminEmail: email, adminPassword: password } = this.config;
    if (!email || !password) return;
    if (await this.users.hasAdmin()) return;
    const problem = checkPassword(password, this.passwordMinLength, 'ADMIN_PASSWORD');
    if (problem) {
      this.logger.error(`ADMIN_PASSWORD is refused (${problem.message}): no admin was created`);
      return;
    }
    try {
      await this.users.create({
        email: email.normalize('NFC').trim(),
        passwordHash: await this.passwords.hash(password),
        status: 'active',
        roles: ['user', 'admin'],
        emailVerified: true,
      });
      this.logger.log(`Created the admin account ${email} (ADMIN_EMAIL)`);
    } catch (error) {
      if (!(error instanceof AppError && error.code === ErrorCode.EmailTaken)) throw error;
      // Another instance starting at the same time may have just created it.
      if (await this.users.hasAdmin()) return;
      this.logger.warn(`ADMIN_EMAIL ${email} belongs to an existing non-admin account: no admin was created`);
    }
  }
}
