// Bearer tokens: signature, pinned algorithm, kid, issuer, audience, expiry and typ are checked by
// AccessTokenService (jose, keys from memory); then the claims' shapes, and the session must still
// be live and the user active, so logout and revocation act at once. A verified token's claims are
// remembered until it expires (VerifiedClaimsCache), so the signature is checked once per token, not
// once per request; the session, the user and the key that verified it are checked every time.
import { Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import { AppError, ErrorCode } from '../../../common/errors/app-error';
import type { AuthContext } from '../auth-context';
import { AccessTokenService, VerifiedAccessToken } from '../../tokens/access-token.service';
import { TokensService } from '../../tokens/tokens.service';
import type { Role } from '../../users/role';
import { UsersService } from '../../users/users.service';

interface AccessClaims {
  sub: string;
  sid: string;
  exp: number;
}

/** Verified tokens remembered at most (about 700 bytes each, so a few MB at most). */
export const VERIFIED_CLAIMS_CAPACITY = 4096;

interface Remembered {
  claims: AccessClaims;
  payload: VerifiedAccessToken['payload'];
  kid: unknown;
  /** The key that verified the signature: the token stays trusted only while this key is. */
  key: KeyObject;
  /** The caller fromMemory() last answered for this token, kept while its user is the same in-memory value. */
  lastAuth?: Readonly<AuthContext>;
}

/**
 * Tokens whose signature and claims checked out, by the whole token string (never a part of it: the
 * same signature under other claims must miss), until their `exp`. Bounded: when full, expired
 * entries go first, then the oldest. Failures are never remembered.
 */
export class VerifiedClaimsCache {
  private readonly entries = new Map<string, Remembered>();

  constructor(readonly capacity = VERIFIED_CLAIMS_CAPACITY) {}

  get size(): number {
    return this.entries.size;
  }

  /** The remembered claims while the token is unexpired; an expired entry is dropped. */
  get(token: string, nowSeconds: number): Remembered | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.claims.exp <= nowSeconds) {
      this.entries.delete(token);
      return undefined;
    }
    return entry;
  }

  set(token: string, entry: Remembered, nowSeconds: number): void {
    if (entry.claims.exp <= nowSeconds) return;
    if (!this.entries.has(token) && this.entries.size >= this.capacity) this.makeRoom(nowSeconds);
    this.entries.set(token, entry);
  }

  delete(token: string): void {
    this.entries.delete(token);
  }

  private makeRoom(nowSeconds: number): void {
    for (const [token, entry] of this.entries) if (entry.claims.exp <= nowSeconds) this.entries.delete(token);
    // Still full: the oldest go (Map order is insertion order), a batch at a time.
    const excess = this.entries.size - this.capacity + Math.max(1, Math.floor(this.capacity / 100));
    let dropped = 0;
    for (const token of this.entries.keys()) {
      if (dropped++ >= excess) break;
      this.entries.delete(token);
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JTI = /^[A-Za-z0-9_-]{1,64}$/;
const KNOWN_ROLES: ReadonlySet<unknown> = new Set<Role>(['user', 'admin']);
const MAX_ROLES = 8;

/**
 * The claims' shapes, checked before any of them reaches a query or a cache key: a token signed
 * with our key but carrying odd claims (a leaked retired key, a future bug) is a 401, never a 500.
 */
function accessClaims(payload: VerifiedAccessToken['payload']): AccessClaims | undefined {
  const { sub, sid, exp, iat, jti, roles } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || !UUID.test(sub)) return undefined;
  if (typeof sid !== 'string' || !UUID.test(sid)) return undefined;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return undefined;
  if (typeof jti !== 'string' || !JTI.test(jti)) return undefined;
  if (!Array.isArray(roles) || roles.length > MAX_ROLES || !roles.every((role) => KNOWN_ROLES.has(role))) {
    return undefined;
  }
  return { sub, sid, exp };
}

function unauthorized(): AppError {
  return new AppError(ErrorCode.Unauthorized, 'The access token is invalid, expired or revoked.');
}

@Injectable()
export class JwtStrategy {
  private readonly verified = new VerifiedClaimsCache();

  constructor(
    private readonly accessTokens: AccessTokenService,
    private readonly tokens: TokensService,
    private readonly users: UsersService,
  ) {}

  /**
   * The caller a bearer token stands for; 401 for any token that is not a live session's. A token
   * verified before, whose session and user this instance holds in memory, is answered at once
   * (the same checks, none of them waiting); anything else goes the full way.
   */
  authenticate(token: string): Readonly<AuthContext> | Promise<AuthContext> {
    return this.fromMemory(token) ?? this.authenticateFully(token);
  }

  private async authenticateFully(token: string): Promise<AuthContext> {
    const checked = await this.check(token);
    if (!checked) throw unauthorized();
    return checked.auth;
  }

  /**
   * check()'s answer when everything it needs is already in memory: the remembered claims (their
   * key still trusted), the live session and the active user from the state cache's memory tier.
   * Undefined whenever anything is missing or refused: the full path then decides, and answers.
   */
  private fromMemory(token: string): Readonly<AuthContext> | undefined {
    const remembered = this.verified.get(token, Math.floor(Date.now() / 1000));
    // A key no longer trusted: the full path forgets the token and refuses it.
    if (!remembered || this.accessTokens.verifierFor(remembered.kid) !== remembered.key) return undefined;
    const { sub, sid, exp } = remembered.claims;
    const session = this.tokens.peekLiveSession(sid);
    if (!session || session.userId !== sub) return undefined;
    const user = this.users.peekById(sub);
    if (!user || user.status !== 'active') return undefined;
    // The same token, session and user (the memory tier's value, renewed at least every second): the same caller.
    if (remembered.lastAuth?.user === user) return remembered.lastAuth;
    const auth = Object.freeze({
      userId: sub,
      sessionId: sid,
      roles: user.roles,
      tokenExpiresAt: new Date(exp * 1000),
      user,
    });
    remembered.lastAuth = auth;
    return auth;
  }

  /** The caller and the verified claims, or undefined for any token that is not a live session's. */
  async check(token: string): Promise<{ auth: AuthContext; payload: VerifiedAccessToken['payload'] } | undefined> {
    const remembered = await this.verifiedClaims(token);
    if (!remembered) return undefined;
    const { sub, sid, exp } = remembered.claims;
    // Both ids come from the verified signature, so on a cold cache the two lookups run side by side.
    const [session, user] = await Promise.all([this.tokens.getLiveSession(sid), this.users.getById(sub)]);
    if (!session || session.userId !== sub) return undefined;
    if (!user || user.status !== 'active') return undefined;
    return {
      auth: { userId: sub, sessionId: sid, roles: user.roles, tokenExpiresAt: new Date(exp * 1000), user },
      payload: remembered.payload,
    };
  }

  /**
   * The token's checked claims: from memory when this token was verified before, is unexpired and
   * the key that verified it is still trusted (a revoked key's tokens are refused at once), else
   * from a full verification (signature, algorithm, typ, issuer, audience, expiry, claims' shapes).
   */
  private async verifiedClaims(token: string): Promise<Remembered | undefined> {
    const now = Math.floor(Date.now() / 1000);
    const cached = this.verified.get(token, now);
    if (cached) {
      if (this.accessTokens.verifierFor(cached.kid) === cached.key) return cached;
      this.verified.delete(token);
      return undefined;
    }
    const verified = await this.accessTokens.verify(token);
    if (!verified) return undefined;
    const claims = accessClaims(verified.payload);
    if (!claims) return undefined;
    // The key as trusted now: if it was revoked while the signature was being checked, refuse.
    const key = this.accessTokens.verifierFor(verified.header.kid);
    if (!key) return undefined;
    const entry: Remembered = { claims, payload: verified.payload, kid: verified.header.kid, key };
    this.verified.set(token, entry, Math.floor(Date.now() / 1000));
    return entry;
  }
}
