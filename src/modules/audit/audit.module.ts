// The audit trail (auth_events). It hears about most events through its listener; the records
// that must commit with what they record (a login's, with its session; a routine refresh's, with its
// grace pair) are built here for the emitting statement (AuditTrail, audit-trail.ts).
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditListener } from './audit.listener';
import { AuditTrail } from './audit-trail';
import { AuthEventEntity } from './auth-event.entity';
import { AuthEventsRepository } from './auth-events.repository';

@Module({
  imports: [TypeOrmModule.forFeature([AuthEventEntity])],
  providers: [AuthEventsRepository, AuditListener, AuditTrail],
  exports: [AuditTrail],
})
export class AuditModule {}
