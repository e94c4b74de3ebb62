// Access-token signing keys: the in-memory key ring (SigningKeys), the signing_keys table and its
// upkeep (ManagedSigningKeys: first key, rotation, revocation), the admin endpoints and the discovery
// documents. tokens signs and verifies with the ring.
import { Module } from '@nestjs/common';
import { CryptoModule } from '../crypto/crypto.module';
import { KeysController } from './keys.controller';
import { ManagedSigningKeys } from './managed-signing-keys.service';
import { SigningKeysRepository } from './signing-keys.repository';
import { SigningKeys } from './signing-keys.service';
import { WellKnownController } from './well-known.controller';

@Module({
  imports: [CryptoModule],
  controllers: [KeysController, WellKnownController],
  providers: [SigningKeysRepository, SigningKeys, ManagedSigningKeys],
  exports: [SigningKeys],
})
export class KeysModule {}
