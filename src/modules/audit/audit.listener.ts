// Writes an audit record (auth_events) for every domain event. Durable by design: the record is
// written while the emitting request is still open and its response waits for the commit, so a
// client never sees the outcome of a login, refresh, logout or admin action whose record a crash
// could lose (README "How it works").
import { Injectable, OnModuleInit } from '@nestjs/common';
import { AfterResponseService } from '../../common/events/after-response.service';
import { ClientInfo, DomainEvent } from '../../common/events/domain-events';
import type { AuthEventOutcome } from './auth-event.entity';
import { AuthEventsRepository, NewAuthEvent } from './auth-events.repository';

const FAILURES: ReadonlySet<string> = new Set([DomainEvent.LoginFailed, DomainEvent.RefreshReuseDetected]);

/** The fields events carry, read generically so that a new event is audited without code here. */
interface AuditableEvent {
  name: string;
  at?: Date;
  userId?: string | null;
  sessionId?: string;
  sessionIds?: string[];
  actorId?: string;
  reason?: string;
  lastSessionEnded?: boolean;
  client?: ClientInfo;
}

export function toAuditRecord(event: AuditableEvent): NewAuthEvent {
  const outcome: AuthEventOutcome = FAILURES.has(event.name) ? 'failure' : 'success';
  const sessions = event.sessionIds ?? [];
  const details: Record<string, unknown> = {};
  if (sessions.length > 1) details.sessionIds = sessions;
  if (event.lastSessionEnded !== undefined) details.lastSessionEnded = event.lastSessionEnded;
  return {
    type: event.name,
    outcome,
    reason: event.reason ?? (event.name === DomainEvent.RefreshReuseDetected ? 'refresh_token_reuse' : null),
    userId: event.userId ?? null,
    sessionId: event.sessionId ?? (sessions.length === 1 ? sessions[0] : null),
    actorId: event.actorId ?? null,
    ip: event.client?.ip ?? null,
    userAgent: event.client?.userAgent ?? null,
    occurredAt: event.at ?? new Date(),
    details: Object.keys(details).length > 0 ? details : null,
  };
}

@Injectable()
export class AuditListener implements OnModuleInit {
  constructor(
    private readonly work: AfterResponseService,
    private readonly events: AuthEventsRepository,
  ) {}

  onModuleInit(): void {
    this.work.onEventBeforeResponse(Object.values(DomainEvent), 'audit', (event) =>
      this.events.append(toAuditRecord(event as AuditableEvent)),
    );
  }
}
