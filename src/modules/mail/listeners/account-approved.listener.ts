// "Your account was approved", queued when an administrator approves a pending account.
import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { DomainEvent, UserApprovedEvent } from '../../../common/events/domain-events';
import { UsersService } from '../../users/users.service';
import { MailService } from '../mail.service';

@Injectable()
export class AccountApprovedListener {
  constructor(
    private readonly users: UsersService,
    private readonly mail: MailService,
  ) {}

  @OnEvent(DomainEvent.UserApproved, { async: true, promisify: true, suppressErrors: true })
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
