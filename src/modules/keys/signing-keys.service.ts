// The access-token key ring (docs/security.md, "Signing keys"), held in memory: the key that signs,
// the keys that verify (by kid) and the JWKS answer, so neither a request's signature check nor the
// JWKS costs a database round trip. Three sources:
// - HS256: the JWT_ACCESS_SECRET key, nothing published;
// - JWT_SIGNING_KEYS: the operator's JWK Set, the first signs, all are published, never rotated;
// - managed: signing_keys rows, which ManagedSigningKeys (managed-signing-keys.service.ts) creates,
//   rotates, revokes and loads here. Every instance derives the same signing key from the same rows
//   and the clock.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createSecretKey, KeyObject } from 'node:crypto';
import type { AuthConfig, LatchConfig } from '../../config/configuration';
import { PublicJwk, SigningAlgorithm, SigningKey, signingKeyFromJwk } from './key-material';
import type { StoredKey } from './signing-keys.repository';

const KID = /^[A-Za-z0-9_.-]{1,64}$/;

export type KeyState = 'next' | 'active' | 'retired' | 'revoked';

export interface KeyView {
  kid: string;
  alg: string;
  state: KeyState;
  createdAt: Date;
  activatesAt: Date;
  retiresAt: Date | null;
}

export interface Signer {
  alg: SigningAlgorithm;
  kid?: string;
  key: KeyObject;
}

interface Snapshot {
  signer: Signer;
  verifiers: ReadonlyMap<string, KeyObject>;
  jwks: { keys: PublicJwk[] };
  /** When the clock alone changes the answer (a key activates, a retired key's tokens expire). */
  validUntil: number;
}

export interface Timeline {
  row: StoredKey;
  /** The activation of the key after it: from then it no longer signs. */
  retiresAt: Date | null;
}

/** The rows of the pinned algorithm that are not revoked, in activation order, with their retirements. */
export function timeline(stored: readonly StoredKey[], alg: string): Timeline[] {
  const live = stored.filter((row) => row.alg === alg && !row.revokedAt);
  return live.map((row, i) => ({ row, retiresAt: live[i + 1]?.activatesAt ?? null }));
}

@Injectable()
export class SigningKeys implements OnModuleInit {
  private readonly auth: AuthConfig;
  readonly algorithm: SigningAlgorithm;
  /** Managed keys (in signing_keys), as opposed to HS256 or JWT_SIGNING_KEYS. */
  readonly managed: boolean;
  private snapshot: Snapshot | null = null;
  private stored: StoredKey[] = [];
  private opened: ReadonlyMap<string, SigningKey> = new Map();
  private operatorKeys: SigningKey[] = [];

  constructor(config: ConfigService<LatchConfig, true>) {
    this.auth = config.get('auth', { infer: true });
    this.algorithm = this.auth.jwtAlgorithm;
    this.managed = this.algorithm !== 'HS256' && this.auth.jwtSigningKeys === undefined;
  }

  /** HS256 and operator keys are ready here; managed keys once ManagedSigningKeys has loaded them. */
  async onModuleInit(): Promise<void> {
    if (this.algorithm === 'HS256') {
      this.snapshot = {
        signer: { alg: 'HS256', key: createSecretKey(Buffer.from(this.auth.jwtAccessSecret, 'utf8')) },
        verifiers: new Map(),
        jwks: { keys: [] },
        validUntil: Infinity,
      };
      return;
    }
    const alg = this.algorithm;
    if (!this.managed) {
      this.operatorKeys = this.auth.jwtSigningKeys!.keys.map((jwk) => signingKeyFromJwk(jwk, String(jwk.kid), alg));
      this.snapshot = this.operatorSnapshot();
    }
  }

  /** The key that signs now. */
  signer(): Signer {
    return this.current().signer;
  }

  /** The key that verifies a token with this `kid`, or undefined (unknown, revoked, expired, malformed). */
  verifier(kid: unknown): KeyObject | undefined {
    const snapshot = this.current();
    if (this.algorithm === 'HS256') return snapshot.signer.key;
    if (typeof kid !== 'string' || !KID.test(kid)) return undefined;
    return snapshot.verifiers.get(kid);
  }

  /** The JWKS answer: public keys only. */
  jwks(): { keys: PublicJwk[] } {
    return this.current().jwks;
  }

  /** Managed keys with their states (operator keys: listed as active). */
  list(): KeyView[] {
    if (!this.managed) {
      return this.operatorKeys.map((key, i) => ({
        kid: key.kid,
        alg: key.alg,
        state: i === 0 ? 'active' : 'retired',
        createdAt: new Date(0),
        activatesAt: new Date(0),
        retiresAt: null,
      }));
    }
    const now = Date.now();
    const live = timeline(this.stored, this.algorithm);
    const retirement = new Map(live.map((t) => [t.row.kid, t.retiresAt]));
    const signing = this.current().signer.kid;
    return this.stored.map((row) => {
      const retiresAt = retirement.get(row.kid) ?? null;
      let state: KeyState;
      if (row.revokedAt) state = 'revoked';
      else if (row.kid === signing) state = 'active';
      else if (row.alg === this.algorithm && row.activatesAt.getTime() > now) state = 'next';
      else state = 'retired';
      return { kid: row.kid, alg: row.alg, state, createdAt: row.createdAt, activatesAt: row.activatesAt, retiresAt };
    });
  }

  /**
   * Managed keys: rebuilds the ring from the rows as last read and the keys opened so far (by kid;
   * every row `published` names must be among them).
   */
  load(rows: StoredKey[], opened: ReadonlyMap<string, SigningKey>): void {
    this.stored = rows;
    this.opened = opened;
    this.snapshot = this.managedSnapshot(Date.now());
  }

  /** Rows still published: the next keys, the active one, and retired ones whose tokens may still live. */
  published(rows: readonly StoredKey[], now: number): Timeline[] {
    return timeline(rows, this.algorithm).filter((t) => !t.retiresAt || t.retiresAt.getTime() + this.ttlMs() > now);
  }

  private current(): Snapshot {
    const snapshot = this.snapshot;
    if (!snapshot) throw new Error('signing keys are not loaded yet');
    if (Date.now() < snapshot.validUntil) return snapshot;
    this.snapshot = this.managedSnapshot(Date.now());
    return this.snapshot;
  }

  private ttlMs(): number {
    return this.auth.jwtAccessTtl * 1000;
  }

  private managedSnapshot(now: number): Snapshot {
    const published = this.published(this.stored, now).filter((t) => this.opened.has(t.row.kid));
    const due = published.filter((t) => t.row.activatesAt.getTime() <= now);
    const active = due[due.length - 1] ?? published[0];
    if (!active) throw new Error('no signing key is available');
    const key = this.opened.get(active.row.kid)!;
    const changes = published.flatMap((t) => [
      t.row.activatesAt.getTime(),
      t.retiresAt ? t.retiresAt.getTime() + this.ttlMs() : Infinity,
    ]);
    return {
      signer: { alg: key.alg, kid: key.kid, key: key.privateKey },
      verifiers: new Map(published.map((t) => [t.row.kid, this.opened.get(t.row.kid)!.publicKey])),
      jwks: { keys: published.map((t) => this.opened.get(t.row.kid)!.publicJwk) },
      validUntil: Math.min(...changes.filter((at) => at > now), Infinity),
    };
  }

  private operatorSnapshot(): Snapshot {
    const first = this.operatorKeys[0]!;
    return {
      signer: { alg: first.alg, kid: first.kid, key: first.privateKey },
      verifiers: new Map(this.operatorKeys.map((key) => [key.kid, key.publicKey])),
      jwks: { keys: this.operatorKeys.map((key) => key.publicJwk) },
      validUntil: Infinity,
    };
  }
}
