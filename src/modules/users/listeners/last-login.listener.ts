// Stamps last login after the response. Best effort by design: a crash may lose a stamp (docs/operations.md).
import { Injectable } from '@nestjs/common';
import { LoginSucceededEvent } from '../../../common/events/domain-events';
import { AfterResponse } from '../../../common/events/listener.decorators';
import { UsersService } from '../users.service';

@Injectable()
export class LastLoginListener {
  constructor(private readonly users: UsersService) {}

  @AfterResponse(LoginSucceededEvent)
  async stamp(event: LoginSucceededEvent): Promise<void> {
    await this.users.stampLastLogin(event.userId, event.at);
  }
}
