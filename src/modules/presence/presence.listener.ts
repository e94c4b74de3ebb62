// Turns logins and ended sessions into presence changes, after the response.
import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { DomainEvent, LoginSucceededEvent, SessionRevokedEvent } from '../../common/events/domain-events';
import { PresenceService } from './presence.service';

@Injectable()
export class PresenceListener {
  constructor(private readonly presence: PresenceService) {}

  // suppressErrors: false hands a failure to AfterResponseService, which logs it with the event's ids.
  @OnEvent(DomainEvent.LoginSucceeded, { suppressErrors: false })
  async online(event: LoginSucceededEvent): Promise<void> {
    await this.presence.publish({ userId: event.userId, status: 'online', at: event.at.toISOString() });
  }

  /** Logout, logout-all, a deleted, stolen or disabled session: offline once none is left. */
  @OnEvent(DomainEvent.SessionRevoked, { suppressErrors: false })
  async sessionsEnded(event: SessionRevokedEvent): Promise<void> {
    this.presence.sessionsEnded(event.sessionIds);
    if (!event.lastSessionEnded) return;
    await this.presence.publish({ userId: event.userId, status: 'offline', at: event.at.toISOString() });
  }
}
