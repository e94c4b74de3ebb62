// "We signed out one of your sessions": an old refresh token was presented again after it had been
// replaced, so the session was revoked as possibly stolen. One notice per session (dedupe key),
// queued before the refresh's 401 is sent (@BeforeResponse), so a crash cannot lose it.
import { Injectable } from '@nestjs/common';
import { RefreshReuseDetectedEvent } from '../../../common/events/domain-events';
import { BeforeResponse } from '../../../common/events/listener.decorators';
import { UsersService } from '../../users/users.service';
import { MailService } from '../mail.service';

@Injectable()
export class SessionRevokedListener {
  constructor(
    private readonly users: UsersService,
    private readonly mail: MailService,
  ) {}

  @BeforeResponse(RefreshReuseDetectedEvent)
  async onReuse(event: RefreshReuseDetectedEvent): Promise<void> {
    const user = await this.users.getById(event.userId);
    if (!user) return;
    await this.mail.queueNow({
      template: 'session-revoked',
      to: user.email,
      userId: user.id,
      data: { at: event.at.toISOString(), ip: event.client.ip, userAgent: event.client.userAgent },
      dedupeKey: `session-revoked:${event.sessionId}`,
    });
  }
}
