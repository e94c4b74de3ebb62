// A safety net behind the owners' own evictions: any announced change to a user or a session also
// drops the cached copy, so a write path added later that forgets to call StateCache.forget() is
// still corrected right after its response (the owners' evictions happen before it).
import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { DomainEvent, SessionRevokedEvent } from '../../../common/events/domain-events';
import { CacheKind, StateCache } from '../state-cache.service';

const USER_CHANGES = [
  DomainEvent.UserUpdated,
  DomainEvent.UserApproved,
  DomainEvent.UserDisabled,
  DomainEvent.UserEnabled,
  DomainEvent.PasswordChanged,
  DomainEvent.PasswordReset,
];

const OPTIONS = { async: true, promisify: true, suppressErrors: true } as const;

@Injectable()
export class StateChangeListener {
  constructor(private readonly cache: StateCache) {}

  @OnEvent(USER_CHANGES, OPTIONS)
  async userChanged(event: { userId: string }): Promise<void> {
    await this.cache.forget(CacheKind.User, [event.userId]);
  }

  @OnEvent(DomainEvent.SessionRevoked, OPTIONS)
  async sessionsRevoked(event: SessionRevokedEvent): Promise<void> {
    await this.cache.forget(CacheKind.Session, event.sessionIds);
  }
}
