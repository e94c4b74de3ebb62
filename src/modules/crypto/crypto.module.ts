// Encryption of stored secrets: one SecretBox per instance, with the keys of ENCRYPTION_KEY (or, in
// development, the key generated under DATA_DIR). Modules that keep a secret they must read back
// (the mail outbox's tokens, signing keys, TOTP secrets), or keep only a keyed hash of one (API keys),
// import this module.
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { LatchConfig } from '../../config/configuration';
import { encryptionKeys } from './encryption-keys';
import { KeyedHash } from './keyed-hash';
import { SecretBox } from './secret-box.service';

@Module({
  providers: [
    {
      provide: SecretBox,
      inject: [ConfigService],
      useFactory: (config: ConfigService<LatchConfig, true>) =>
        new SecretBox(encryptionKeys(config.get('crypto', { infer: true }))),
    },
    {
      provide: KeyedHash,
      inject: [ConfigService],
      useFactory: (config: ConfigService<LatchConfig, true>) =>
        new KeyedHash(encryptionKeys(config.get('crypto', { infer: true }))),
    },
  ],
  exports: [SecretBox, KeyedHash],
})
export class CryptoModule {}
