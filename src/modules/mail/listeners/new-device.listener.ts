// "New sign-in from a device we have not seen", when LOGIN_NOTIFY_NEW_DEVICE=true. A user's first
// sign-in only records the device; later sign-ins from an unseen user agent and address are mailed.
// The notice is queued before the login's response is sent (@BeforeResponse), so a crash cannot
// lose it; with the option off, the listener returns at once and logins pay nothing.
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { LoginSucceededEvent } from '../../../common/events/domain-events';
import { BeforeResponse } from '../../../common/events/listener.decorators';
import type { LatchConfig } from '../../../config/configuration';
import { UsersService } from '../../users/users.service';
import { KnownDevicesRepository } from '../known-devices.repository';
import { MailService } from '../mail.service';

@Injectable()
export class NewDeviceListener {
  private readonly enabled: boolean;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly devices: KnownDevicesRepository,
    private readonly users: UsersService,
    private readonly mail: MailService,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.enabled = config.get('auth', { infer: true }).loginNotifyNewDevice;
  }

  @BeforeResponse(LoginSucceededEvent)
  async onLogin(event: LoginSucceededEvent): Promise<void> {
    if (!this.enabled) return;
    const user = await this.users.getById(event.userId);
    if (!user) return;
    await this.db.transaction(async (manager) => {
      const { firstSight, knewOthers } = await this.devices.remember(manager, user.id, event.client);
      if (!firstSight || !knewOthers) return;
      await this.mail.queue(manager, {
        template: 'new-device',
        to: user.email,
        userId: user.id,
        data: { at: event.at.toISOString(), ip: event.client.ip, userAgent: event.client.userAgent },
        dedupeKey: `new-device:${event.sessionId}`,
      });
    });
  }
}
