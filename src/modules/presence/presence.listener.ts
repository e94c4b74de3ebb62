// Turns logins and ended sessions into presence changes, and ends the streams of viewers whose
// session ended or who were disabled, after the response.
import { Injectable } from '@nestjs/common';
import { LoginSucceededEvent, SessionRevokedEvent, UserDisabledEvent } from '../../common/events/domain-events';
import { AfterResponse } from '../../common/events/listener.decorators';
import { PresenceService } from './presence.service';

@Injectable()
export class PresenceListener {
  constructor(private readonly presence: PresenceService) {}

  @AfterResponse(LoginSucceededEvent)
  async online(event: LoginSucceededEvent): Promise<void> {
    await this.presence.publish({ userId: event.userId, status: 'online', at: event.at.toISOString() });
  }

  /** Logout, logout-all, a deleted, stolen or disabled session: offline once none is left. */
  @AfterResponse(SessionRevokedEvent)
  async sessionsEnded(event: SessionRevokedEvent): Promise<void> {
    await this.presence.sessionsEnded(event.sessionIds);
    if (!event.lastSessionEnded) return;
    await this.presence.publish({ userId: event.userId, status: 'offline', at: event.at.toISOString() });
  }

  /** A disabled admin's streams end, whatever became of their sessions. */
  @AfterResponse(UserDisabledEvent)
  async userDisabled(event: UserDisabledEvent): Promise<void> {
    await this.presence.usersDisabled([event.userId]);
  }
}
