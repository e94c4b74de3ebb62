// The audit trail (auth_events). It hears about logins only through events.
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditListener } from './audit.listener';
import { AuthEventEntity } from './auth-event.entity';
import { AuthEventsRepository } from './auth-events.repository';

@Module({
  imports: [TypeOrmModule.forFeature([AuthEventEntity])],
  providers: [AuthEventsRepository, AuditListener],
})
export class AuditModule {}
