// "Your account was approved", queued when an administrator approves a pending account. Queued
// before the approval's response is sent (@BeforeResponse), so a crash cannot lose it.
import { Injectable } from '@nestjs/common';
import { UserApprovedEvent } from '../../../common/events/domain-events';
import { BeforeResponse } from '../../../common/events/listener.decorators';
import { UsersService } from '../../users/users.service';
import { MailService } from '../mail.service';

@Injectable()
export class AccountApprovedListener {
  constructor(
    private readonly users: UsersService,
    private readonly mail: MailService,
  ) {}

  @BeforeResponse(UserApprovedEvent)
  async onApproved(event: UserApprovedEvent): Promise<void> {
    const user = await this.users.getById(event.userId);
    if (!user) return;
    await this.mail.queueNow({
      template: 'account-approved',
      to: user.email,
      userId: user.id,
      dedupeKey: `account-approved:${user.id}`,
    });
  }
}
