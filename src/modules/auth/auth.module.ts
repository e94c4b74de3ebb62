import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { AuditModule } from '../audit/audit.module';
import { MailModule } from '../mail/mail.module';
import { MfaModule } from '../mfa/mfa.module';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { AccountRecoveryController } from './account-recovery.controller';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { EmailVerificationService } from './email-verification.service';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { InitialAdminService } from './initial-admin.service';
import { MailRequestQuota } from './mail-request-quota';
import { MfaSignInService } from './mfa-sign-in.service';
import { MfaController } from './mfa.controller';
import { OAuthTokenController } from './oauth-token.controller';
import { PasswordChangeService } from './password-change.service';
import { PasswordResetRequestsProcessor } from './password-reset-requests.processor';
import { PasswordResetRequestsRepository } from './password-reset-requests.repository';
import { PasswordResetService } from './password-reset.service';
import { PasswordHasher } from './passwords/password-hasher.service';
import { JwtStrategy } from './strategies/jwt.strategy';
import { LocalStrategy } from './strategies/local.strategy';
import { TokenIntrospectionController } from './token-introspection.controller';
import { TokenIntrospectionService } from './token-introspection.service';
import { TokenRefreshService } from './token-refresh.service';

@Module({
  imports: [PassportModule, UsersModule, TokensModule, MailModule, MfaModule, ApiKeysModule, AuditModule],
  controllers: [
    AuthController,
    OAuthTokenController,
    AccountRecoveryController,
    MfaController,
    TokenIntrospectionController,
  ],
  providers: [
    AuthService,
    TokenRefreshService,
    PasswordHasher,
    JwtStrategy,
    LocalStrategy,
    JwtAuthGuard,
    InitialAdminService,
    PasswordResetService,
    PasswordResetRequestsProcessor,
    PasswordResetRequestsRepository,
    PasswordChangeService,
    EmailVerificationService,
    MailRequestQuota,
    MfaSignInService,
    TokenIntrospectionService,
  ],
  exports: [AuthService, PasswordHasher, JwtAuthGuard],
})
export class AuthModule {}
