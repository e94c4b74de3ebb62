import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { TokensModule } from '../tokens/tokens.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { OAuthTokenController } from './oauth-token.controller';
import { PasswordHasher } from './passwords/password-hasher.service';
import { JwtStrategy } from './strategies/jwt.strategy';
import { LocalStrategy } from './strategies/local.strategy';

@Module({
  imports: [PassportModule, UsersModule, TokensModule],
  controllers: [AuthController, OAuthTokenController],
  providers: [AuthService, PasswordHasher, JwtStrategy, LocalStrategy, JwtAuthGuard],
  exports: [AuthService, PasswordHasher, JwtAuthGuard],
})
export class AuthModule {}
