// Multi-factor sign-in: the mfa_factors, recovery_codes and mfa_challenges tables and MfaService,
// which auth calls at sign-in and for enrolment; the admin reset (DELETE /users/:id/mfa) lives here.
import { Module } from '@nestjs/common';
import { CryptoModule } from '../crypto/crypto.module';
import { MailOutboxModule } from '../mail/mail-outbox.module';
import { UsersModule } from '../users/users.module';
import { AdminMfaController } from './admin-mfa.controller';
import { MfaRepository } from './mfa.repository';
import { MfaService } from './mfa.service';

@Module({
  imports: [UsersModule, CryptoModule, MailOutboxModule],
  controllers: [AdminMfaController],
  providers: [MfaRepository, MfaService],
  exports: [MfaService],
})
export class MfaModule {}
