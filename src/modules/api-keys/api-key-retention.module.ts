// The part of the api-keys module that the token cleanup reaches: ApiKeyRetention alone. It depends
// on no feature module, so tokens can import it without a cycle (ApiKeysModule imports users, which
// imports tokens), as MailOutboxModule does for the outbox.
import { Module } from '@nestjs/common';
import { ApiKeyRetention } from './api-key-retention.service';
import { ApiKeysRepository } from './api-keys.repository';

@Module({
  providers: [ApiKeysRepository, ApiKeyRetention],
  exports: [ApiKeyRetention],
})
export class ApiKeyRetentionModule {}
