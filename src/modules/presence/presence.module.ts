// Presence: who is online, streamed to admins. Hears about logins only through events.
import { Module } from '@nestjs/common';
import { PresenceController } from './presence.controller';
import { PresenceListener } from './presence.listener';
import { PresenceService } from './presence.service';

@Module({
  controllers: [PresenceController],
  providers: [PresenceService, PresenceListener],
})
export class PresenceModule {}
