import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AccessTokenService } from './access-token.service';
import { RefreshSessionsRepository } from './refresh-sessions.repository';
import { TokensService } from './tokens.service';

@Module({
  imports: [JwtModule.register({})],
  providers: [RefreshSessionsRepository, TokensService, AccessTokenService],
  exports: [TokensService, AccessTokenService],
})
export class TokensModule {}
