// Signs (jws-sign.ts, node:crypto) and verifies (jose) access tokens (docs/security.md, "Tokens on
// the wire") with the key ring of the keys module: the algorithm is pinned (JWT_ALGORITHM), the header carries `typ: at+jwt`
// and, for asymmetric keys, the `kid` that names the key. Header members that point at other keys
// (`jku`, `x5u`, `jwk`, `x5c`) are ignored: the key is only ever looked up by `kid` in the ring.
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { randomUUID, type KeyObject } from 'node:crypto';
import type { AuthConfig, LatchConfig } from '../../config/configuration';
import { SigningKeys } from '../keys/signing-keys.service';
import { signCompactJws } from './jws-sign';

export const ACCESS_TOKEN_TYP = 'at+jwt';
/** Longer than any token Latch issues (about 600 bytes): anything bigger is refused unparsed. */
const MAX_TOKEN_LENGTH = 4096;

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

/** A token whose signature, algorithm, typ, issuer, audience and expiry checked out. */
export interface VerifiedAccessToken {
  header: ProtectedHeaderParameters;
  payload: JWTPayload;
}

class UnknownKeyError extends Error {}

@Injectable()
export class AccessTokenService {
  private readonly auth: AuthConfig;

  constructor(
    private readonly keys: SigningKeys,
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
    // The members in the order jose's SignJWT wrote them.
    const token = signCompactJws(this.keys.signer(), ACCESS_TOKEN_TYP, {
      sid: sessionId,
      roles,
      sub: userId,
      jti: randomUUID(),
      iat: now,
      exp,
      iss: this.auth.jwtIssuer,
      aud: this.auth.jwtAudience,
    });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /**
   * The key that verifies tokens with this `kid` right now, or undefined once it is revoked, retired
   * past its tokens' lifetime or unknown: the same object for as long as the key is trusted, so a
   * caller that remembers a verified token can check its key is still trusted (one map lookup).
   */
  verifierFor(kid: unknown): KeyObject | undefined {
    return this.keys.verifier(kid);
  }

  /** The verified token, or undefined for anything else (never throws for a bad token). */
  async verify(token: string): Promise<VerifiedAccessToken | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    try {
      const { protectedHeader, payload } = await jwtVerify(
        token,
        (header) => {
          const key = this.keys.verifier(header.kid);
          if (!key) throw new UnknownKeyError();
          return key;
        },
        {
          algorithms: [this.keys.algorithm],
          typ: ACCESS_TOKEN_TYP,
          issuer: this.auth.jwtIssuer,
          audience: this.auth.jwtAudience,
          requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        },
      );
      // jose also accepts "application/at+jwt"; Latch issues and pins the short form only.
      if (protectedHeader.typ !== ACCESS_TOKEN_TYP || protectedHeader.alg !== this.keys.algorithm) return undefined;
      return { header: protectedHeader, payload };
    } catch {
      // An unknown kid, a bad signature, a wrong claim, a malformed token: all the same refusal, never a 500.
      return undefined;
    }
  }
}
