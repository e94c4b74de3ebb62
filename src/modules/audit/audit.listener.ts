// Writes an audit record (auth_events) for every domain event. Security events are durable: the
// record is written while the emitting request is still open and its response waits for the
// commit, so a client never sees the outcome of a login, logout, reuse detection or admin action
// whose record a crash could lose. A successful login's record goes further: the statement that
// creates its session writes it (AuditTrail), so neither exists without the other and the login
// waits for one round trip instead of two. Routine token refreshes, the bulk of the traffic, carry
// their record in the statement that rotates their session (AuditTrail, audit-trail.ts); the rare
// refresh that could not be prepared before its rotation (see TokenRefreshService.refresh) is
// batched after the response into one INSERT per short window: finished on SIGTERM, lost only to a
// crash (docs/operations.md).
import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientInfo, DomainEvent, DomainEventName } from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { BeforeResponse } from '../../common/events/listener.decorators';
import type { AuthEventOutcome } from './auth-event.entity';
import { AuthEventsRepository, NewAuthEvent } from './auth-events.repository';

const FAILURES: ReadonlySet<string> = new Set([
  DomainEvent.LoginFailed,
  DomainEvent.RefreshReuseDetected,
  DomainEvent.PasswordCheckFailed,
]);

/** Routine events whose records are batched after the response instead of held before it. */
const BATCHED: readonly DomainEventName[] = [DomainEvent.TokenRefreshed];
/** Events that are not security records (an API key's use only stamps lastUsedAt). */
const UNAUDITED: readonly DomainEventName[] = [DomainEvent.ApiKeyUsed];
/** Events whose record the emitter's own statement writes (AuditTrail): published only once it has. */
const RECORDED_BY_EMITTER: readonly DomainEventName[] = [DomainEvent.LoginSucceeded];
/** Every other event: its record is committed before the response. */
const DURABLE = Object.values(DomainEvent).filter(
  (name) => ![...BATCHED, ...UNAUDITED, ...RECORDED_BY_EMITTER].includes(name),
);
/** How long a batch collects records before its one INSERT, and its largest size. */
const BATCH_WINDOW_MS = 100;
const BATCH_MAX = 500;

/** The fields events carry, read generically so that a new event is audited without code here. */
export interface AuditableEvent {
  name: string;
  at?: Date;
  userId?: string | null;
  sessionId?: string;
  sessionIds?: string[];
  actorId?: string;
  reason?: string;
  lastSessionEnded?: boolean;
  /** A keyed hash of the name tried, for a failed sign-in that named no account. */
  identifierHash?: string;
  apiKeyId?: string;
  client?: ClientInfo;
  /** The publisher already wrote the record in its own statement (AuditTrail.insertOf). */
  auditRowWritten?: boolean;
}

export function toAuditRecord(event: AuditableEvent): NewAuthEvent {
  const outcome: AuthEventOutcome = FAILURES.has(event.name) ? 'failure' : 'success';
  const sessions = event.sessionIds ?? [];
  const details: Record<string, unknown> = {};
  if (sessions.length > 1) details.sessionIds = sessions;
  if (event.lastSessionEnded !== undefined) details.lastSessionEnded = event.lastSessionEnded;
  if (event.identifierHash !== undefined) details.identifierHash = event.identifierHash;
  if (event.apiKeyId !== undefined) details.apiKeyId = event.apiKeyId;
  return {
    type: event.name,
    outcome,
    reason: event.reason ?? (event.name === DomainEvent.RefreshReuseDetected ? 'refresh_token_reuse' : null),
    userId: event.userId ?? null,
    sessionId: event.sessionId ?? (sessions.length === 1 ? sessions[0] : null),
    actorId: event.actorId ?? null,
    // Cut to the columns' lengths: an over-long value (an odd forwarded address) would fail the
    // INSERT, and with it the statement that carries it (a refresh's, or a batch of records).
    ip: event.client?.ip?.slice(0, 64) ?? null,
    userAgent: event.client?.userAgent?.slice(0, 512) ?? null,
    occurredAt: event.at ?? new Date(),
    details: Object.keys(details).length > 0 ? details : null,
  };
}

@Injectable()
export class AuditListener {
  private batch: NewAuthEvent[] = [];

  constructor(
    private readonly work: DomainEvents,
    private readonly events: AuthEventsRepository,
  ) {}

  @BeforeResponse(...DURABLE)
  async record(event: AuditableEvent): Promise<void> {
    await this.events.append(toAuditRecord(event));
  }

  /**
   * Adds a record to the open batch (in memory, before the response); the first record of a batch
   * schedules its flush as tracked work, after the response.
   */
  @BeforeResponse(...BATCHED)
  enqueue(event: AuditableEvent): void {
    if (event.auditRowWritten) return;
    this.batch.push(toAuditRecord(event));
    if (this.batch.length === 1) {
      void this.work.track('audit batch', () => sleep(BATCH_WINDOW_MS).then(() => this.flush()));
    } else if (this.batch.length >= BATCH_MAX) {
      void this.work.track('audit batch', () => this.flush());
    }
  }

  private async flush(): Promise<void> {
    const records = this.batch;
    this.batch = [];
    await this.events.append(...records);
  }
}
