// What other modules may ask of the audit trail directly, rather than through an event: the insert
// of a record that must commit in the same statement as what it records (a login's, with its
// session). The row is built exactly as the listener builds it (toAuditRecord), so the trail
// cannot tell the two apart.
import { Injectable } from '@nestjs/common';
import type { LoginSucceededEvent } from '../../common/events/domain-events';
import type { StatementPart } from '../../database/sql';
import { toAuditRecord } from './audit.listener';
import { AuthEventsRepository } from './auth-events.repository';

@Injectable()
export class AuditTrail {
  constructor(private readonly events: AuthEventsRepository) {}

  /**
   * The record of a login, for the statement that creates its session: both or neither. The
   * listener leaves this event alone (audit.listener.ts, RECORDED_BY_EMITTER).
   */
  loginRecord(event: LoginSucceededEvent): StatementPart {
    return this.events.insertPart(toAuditRecord(event));
  }
}
