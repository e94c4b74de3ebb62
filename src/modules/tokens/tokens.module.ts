import { Module } from '@nestjs/common';
import { ApiKeyRetentionModule } from '../api-keys/api-key-retention.module';
import { KeysModule } from '../keys/keys.module';
import { MailOutboxModule } from '../mail/mail-outbox.module';
import { AccessTokenService } from './access-token.service';
import { OneTimeTokensRepository } from './one-time-tokens.repository';
import { OneTimeTokensService } from './one-time-tokens.service';
import { RefreshRotationService } from './refresh-rotation.service';
import { RefreshSessionsRepository } from './refresh-sessions.repository';
import { TokenCleanupRepository } from './token-cleanup.repository';
import { TokenCleanupService } from './token-cleanup.service';
import { TokenCleanupTask } from './token-cleanup.task';
import { TokensService } from './tokens.service';

@Module({
  imports: [KeysModule, MailOutboxModule, ApiKeyRetentionModule],
  providers: [
    RefreshSessionsRepository,
    TokensService,
    RefreshRotationService,
    AccessTokenService,
    OneTimeTokensRepository,
    OneTimeTokensService,
    TokenCleanupRepository,
    TokenCleanupService,
    TokenCleanupTask,
  ],
  exports: [TokensService, RefreshRotationService, AccessTokenService, OneTimeTokensService],
})
export class TokensModule {}
