// What the audit module lends other modules: the INSERT of an event's audit row, for a statement
// that must write it in the same round trip as its own change (a routine refresh keeps its grace
// pair and its audit row in one statement). The row is the one the audit listener would write;
// the event then says so (`auditRowWritten`) and the listener skips it.
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
