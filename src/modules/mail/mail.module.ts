// Mail: templates, the PostgreSQL outbox and its dispatcher, and the listeners for security notices.
// Other modules queue mail through MailService inside their own transactions.
import { MailerModule } from '@nestjs-modules/mailer';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { LatchConfig } from '../../config/configuration';
import { CryptoModule } from '../crypto/crypto.module';
import { UsersModule } from '../users/users.module';
import { KnownDevicesRepository } from './known-devices.repository';
import { AccountApprovedListener } from './listeners/account-approved.listener';
import { NewDeviceListener } from './listeners/new-device.listener';
import { SessionRevokedListener } from './listeners/session-revoked.listener';
import { MailDispatcher } from './mail-dispatcher.service';
import { MailOutboxRepository } from './mail-outbox.repository';
import { mailerOptions, MailSender } from './mail-sender.service';
import { MailService } from './mail.service';

@Module({
  imports: [
    MailerModule.forRootAsync({
      imports: [],
      inject: [ConfigService],
      useFactory: (config: ConfigService<LatchConfig, true>) => mailerOptions(config.get('mail', { infer: true })),
    }),
    CryptoModule,
    UsersModule,
  ],
  providers: [
    MailOutboxRepository,
    KnownDevicesRepository,
    MailSender,
    MailDispatcher,
    MailService,
    AccountApprovedListener,
    SessionRevokedListener,
    NewDeviceListener,
  ],
  exports: [MailService],
})
export class MailModule {}
