// The audit trail (auth_events). It hears about most events through its listener; the one record
// that must commit with what it records (a login's, with its session) is built here for the
// emitting statement (AuditTrail).
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditListener } from './audit.listener';
import { AuditTrail } from './audit-trail.service';
import { AuthEventEntity } from './auth-event.entity';
import { AuthEventsRepository } from './auth-events.repository';

@Module({
  imports: [TypeOrmModule.forFeature([AuthEventEntity])],
  providers: [AuthEventsRepository, AuditListener, AuditTrail],
  exports: [AuditTrail],
})
export class AuditModule {}
