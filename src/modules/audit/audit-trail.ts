// What the audit module lends other modules: the INSERT of an event's audit row, for a statement
// that must write it in the same round trip as its own change: a login's row in the statement that
// creates its session (both or neither), a routine refresh's in the statement that rotates its
// session (written only if it rotates). The row is the one the audit listener would write (toAuditRecord); the listener leaves
// such events alone (a login's always, a refresh's when it says `auditRowWritten`).
import { Injectable } from '@nestjs/common';
import type { CteStatement } from '../../database/sql';
import { AuditableEvent, toAuditRecord } from './audit.listener';
import { AuthEventsRepository } from './auth-events.repository';

@Injectable()
export class AuditTrail {
  constructor(private readonly events: AuthEventsRepository) {}

  insertOf(event: AuditableEvent): CteStatement {
    return this.events.insertStatement(toAuditRecord(event));
  }
}
