// "Your account was approved", queued when an administrator approves a pending account. Queued
// before the approval's response is sent (AfterResponseService), so a crash cannot lose it.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { AfterResponseService } from '../../../common/events/after-response.service';
import { DomainEvent, UserApprovedEvent } from '../../../common/events/domain-events';
import { UsersService } from '../../users/users.service';
import { MailService } from '../mail.service';

@Injectable()
export class AccountApprovedListener implements OnModuleInit {
  constructor(
    private readonly work: AfterResponseService,
    private readonly users: UsersService,
    private readonly mail: MailService,
  ) {}

  onModuleInit(): void {
    this.work.onEventBeforeResponse([DomainEvent.UserApproved], 'mail: account-approved', (event) =>
      this.onApproved(event as UserApprovedEvent),
    );
  }

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
