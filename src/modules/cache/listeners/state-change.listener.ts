// A safety net behind the owners' own evictions: any announced change to a user or a session also
// drops the cached copy, so a write path added later that forgets to call StateCache.forget() is
// still corrected right after its response (the owners' evictions happen before it).
import { Injectable } from '@nestjs/common';
import { DomainEvent, SessionRevokedEvent } from '../../../common/events/domain-events';
import { AfterResponse } from '../../../common/events/listener.decorators';
import { CacheKind, StateCache } from '../state-cache.service';

const USER_CHANGES = [
  DomainEvent.UserUpdated,
  DomainEvent.UserApproved,
  DomainEvent.UserDisabled,
  DomainEvent.UserEnabled,
  DomainEvent.PasswordChanged,
  DomainEvent.PasswordReset,
];

@Injectable()
export class StateChangeListener {
  constructor(private readonly cache: StateCache) {}

  @AfterResponse(...USER_CHANGES)
  async userChanged(event: { userId: string }): Promise<void> {
    await this.cache.forget(CacheKind.User, [event.userId]);
  }

  @AfterResponse(SessionRevokedEvent)
  async sessionsRevoked(event: SessionRevokedEvent): Promise<void> {
    await this.cache.forget(CacheKind.Session, event.sessionIds);
  }
}
