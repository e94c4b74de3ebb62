// Signs access tokens with the claims of DESIGN.md "Tokens on the wire"; verification lives in
// the JWT strategy, which pins the same algorithm, issuer, audience and typ.
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import type { AuthConfig, LatchConfig } from '../../config/configuration';

export const ACCESS_TOKEN_ALGORITHM = 'HS256';
export const ACCESS_TOKEN_TYP = 'at+jwt';

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  roles: string[];
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

export interface SignedAccessToken {
  token: string;
  expiresAt: Date;
}

@Injectable()
export class AccessTokenService {
  private readonly auth: AuthConfig;

  constructor(
    private readonly jwt: JwtService,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.auth = config.get('auth', { infer: true });
  }

  get ttlSeconds(): number {
    return this.auth.jwtAccessTtl;
  }

  sign(userId: string, sessionId: string, roles: string[], sessionExpiresAt?: Date): SignedAccessToken {
    const now = Math.floor(Date.now() / 1000);
    const sessionEnd = sessionExpiresAt ? Math.floor(sessionExpiresAt.getTime() / 1000) : Infinity;
    const exp = Math.min(now + this.auth.jwtAccessTtl, sessionEnd);
    const token = this.jwt.sign(
      { sub: userId, sid: sessionId, roles, jti: randomUUID(), iat: now, exp },
      {
        algorithm: ACCESS_TOKEN_ALGORITHM,
        header: { alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYP },
        issuer: this.auth.jwtIssuer,
        audience: this.auth.jwtAudience,
        secret: this.auth.jwtAccessSecret,
      },
    );
    return { token, expiresAt: new Date(exp * 1000) };
  }
}
