// The audit trail (auth_events). It hears about logins through events; AuditTrail lets a routine
// refresh write its row in the statement it runs anyway (audit-trail.ts).
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
