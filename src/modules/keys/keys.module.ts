// Access-token signing keys: the in-memory key ring (SigningKeys), the signing_keys table, the
// admin endpoints and the discovery documents. tokens signs and verifies with the ring.
import { Module } from '@nestjs/common';
import { CryptoModule } from '../crypto/crypto.module';
import { KeysController } from './keys.controller';
import { SigningKeysRepository } from './signing-keys.repository';
import { SigningKeys } from './signing-keys.service';
import { WellKnownController } from './well-known.controller';

@Module({
  imports: [CryptoModule],
  controllers: [KeysController, WellKnownController],
  providers: [SigningKeysRepository, SigningKeys],
  exports: [SigningKeys],
})
export class KeysModule {}
