// API keys: the api_keys table, the /api-keys and admin routes, and the authenticator the JWT guard
// calls for an X-API-Key header (auth imports this module; it imports nothing of auth's but the
// route decorators).
import { Module } from '@nestjs/common';
import { CryptoModule } from '../crypto/crypto.module';
import { UsersModule } from '../users/users.module';
import { AdminApiKeysController } from './admin-api-keys.controller';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyUsageListener } from './listeners/api-key-usage.listener';

@Module({
  imports: [CryptoModule, UsersModule],
  controllers: [ApiKeysController, AdminApiKeysController],
  providers: [ApiKeysRepository, ApiKeysService, ApiKeyAuthenticator, ApiKeyUsageListener],
  exports: [ApiKeyAuthenticator],
})
export class ApiKeysModule {}
