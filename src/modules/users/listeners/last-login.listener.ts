// Stamps last login after the response. Best effort by design: a crash may lose a stamp (docs/operations.md).
import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { DomainEvent, LoginSucceededEvent } from '../../../common/events/domain-events';
import { UsersService } from '../users.service';

@Injectable()
export class LastLoginListener {
  constructor(private readonly users: UsersService) {}

  @OnEvent(DomainEvent.LoginSucceeded, { async: true, promisify: true, suppressErrors: true })
  async stamp(event: LoginSucceededEvent): Promise<void> {
    await this.users.stampLastLogin(event.userId, event.at);
  }
}
