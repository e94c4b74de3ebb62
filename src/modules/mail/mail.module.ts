// Mail: the outbox (MailOutboxModule: templates, the PostgreSQL outbox and its dispatcher) and the
// listeners for security notices. Other modules queue mail through MailService inside their own
// transactions. The notices need users, so they live here and not in MailOutboxModule, which
// tokens (users → tokens) can then import without a cycle.
import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { KnownDevicesRepository } from './known-devices.repository';
import { AccountApprovedListener } from './listeners/account-approved.listener';
import { NewDeviceListener } from './listeners/new-device.listener';
import { SessionRevokedListener } from './listeners/session-revoked.listener';
import { MailOutboxModule } from './mail-outbox.module';

@Module({
  imports: [MailOutboxModule, UsersModule],
  providers: [KnownDevicesRepository, AccountApprovedListener, SessionRevokedListener, NewDeviceListener],
  exports: [MailOutboxModule],
})
export class MailModule {}
