import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AccessTokenService } from './access-token.service';
import { OneTimeTokensRepository } from './one-time-tokens.repository';
import { OneTimeTokensService } from './one-time-tokens.service';
import { RefreshSessionsRepository } from './refresh-sessions.repository';
import { TokensService } from './tokens.service';

@Module({
  imports: [JwtModule.register({})],
  providers: [
    RefreshSessionsRepository,
    TokensService,
    AccessTokenService,
    OneTimeTokensRepository,
    OneTimeTokensService,
  ],
  exports: [TokensService, AccessTokenService, OneTimeTokensService],
})
export class TokensModule {}
