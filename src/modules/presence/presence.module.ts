// Presence: who is online, streamed to admins. Hears about logins only through events; asks the
// tokens and users services only whether a stream's viewer may still watch.
import { Module } from '@nestjs/common';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { PresenceController } from './presence.controller';
import { PresenceListener } from './presence.listener';
import { PresenceService } from './presence.service';

@Module({
  imports: [TokensModule, UsersModule],
  controllers: [PresenceController],
  providers: [PresenceService, PresenceListener],
})
export class PresenceModule {}
