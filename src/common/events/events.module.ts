// Global: every module publishes through, and is heard by, the one DomainEvents (see its header).
import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DomainEvents } from './domain-events.service';

@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [DomainEvents],
  exports: [DomainEvents],
})
export class EventsModule {}
