// Multi-factor sign-in: the mfa_factors, recovery_codes and mfa_challenges tables, and the two services
// auth calls: MfaVerificationService at sign-in (the challenge), MfaEnrolmentService for enrolment and
// turning MFA off; the admin reset (DELETE /users/:id/mfa) lives here.
import { Module } from '@nestjs/common';
import { CryptoModule } from '../crypto/crypto.module';
import { MailOutboxModule } from '../mail/mail-outbox.module';
import { UsersModule } from '../users/users.module';
import { AdminMfaController } from './admin-mfa.controller';
import { MfaRepository } from './mfa.repository';
import { MfaEnrolmentService } from './mfa-enrolment.service';
import { MfaVerificationService } from './mfa-verification.service';

@Module({
  imports: [UsersModule, CryptoModule, MailOutboxModule],
  controllers: [AdminMfaController],
  providers: [MfaRepository, MfaVerificationService, MfaEnrolmentService],
  exports: [MfaVerificationService, MfaEnrolmentService],
})
export class MfaModule {}
