// The access-token key ring (docs/security.md, "Signing keys"), held in memory: the key that signs,
// the keys that verify (by kid) and the JWKS answer, so neither a request's signature check nor the
// JWKS costs a database round trip. Three sources:
// - HS256: the JWT_ACCESS_SECRET key, nothing published;
// - JWT_SIGNING_KEYS: the operator's JWK Set, the first signs, all are published, never rotated;
// - managed: signing_keys rows, private parts sealed with ENCRYPTION_KEY. Every instance derives the
//   same signing key from the same rows and the clock; changes (first key, rotation, revocation)
//   run under an advisory lock; instances hear of them through Redis at once, else by polling.
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { createSecretKey, KeyObject } from 'node:crypto';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { AuthConfig, LatchConfig } from '../../config/configuration';
import { RedisService } from '../../redis/redis.service';
import { SecretBox } from '../crypto/secret-box.service';
import {
  AsymmetricAlgorithm,
  generateSigningKey,
  PublicJwk,
  SigningAlgorithm,
  SigningKey,
  signingKeyFromJwk,
} from './key-material';
import { SigningKeysRepository, StoredKey } from './signing-keys.repository';

/** Without Redis, instances re-read the keys this often (the contract: within a minute). */
const POLL_MS = 30_000;
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

/** Refused start: the stored keys cannot be opened with ENCRYPTION_KEY. */
export class SigningKeysLockedError extends Error {
  constructor(kid: string) {
    super(
      `ENCRYPTION_KEY cannot open the stored signing key ${kid}: refusing to start rather than replace it ` +
        '(set the ENCRYPTION_KEY that sealed it, first or after the new one)',
    );
    this.name = 'SigningKeysLockedError';
  }
}

function sealContext(kid: string): string {
  return `signing_keys.private:${kid}`;
}

interface Timeline {
  row: StoredKey;
  /** The activation of the key after it: from then it no longer signs. */
  retiresAt: Date | null;
}

/** The rows of the pinned algorithm that are not revoked, in activation order, with their retirements. */
function timeline(stored: readonly StoredKey[], alg: string): Timeline[] {
  const live = stored.filter((row) => row.alg === alg && !row.revokedAt);
  return live.map((row, i) => ({ row, retiresAt: live[i + 1]?.activatesAt ?? null }));
}

@Injectable()
export class SigningKeys implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SigningKeys');
  private readonly auth: AuthConfig;
  readonly algorithm: SigningAlgorithm;
  /** Managed keys (in signing_keys), as opposed to HS256 or JWT_SIGNING_KEYS. */
  readonly managed: boolean;
  private readonly channel: string;
  private snapshot: Snapshot | null = null;
  private stored: StoredKey[] = [];
  private readonly opened = new Map<string, SigningKey>();
  private operatorKeys: SigningKey[] = [];
  private timer: NodeJS.Timeout | null = null;
  private subscriber: Redis | null = null;

  constructor(
    config: ConfigService<LatchConfig, true>,
    private readonly repository: SigningKeysRepository,
    private readonly box: SecretBox,
    private readonly redis: RedisService,
  ) {
    this.auth = config.get('auth', { infer: true });
    this.algorithm = this.auth.jwtAlgorithm;
    this.managed = this.algorithm !== 'HS256' && this.auth.jwtSigningKeys === undefined;
    this.channel = redis.key('keys', 'changed');
  }

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
      return;
    }
    await this.ensure();
    this.timer = setInterval(() => void this.ensure().catch((error) => this.logSyncFailure(error)), POLL_MS);
    this.timer.unref();
    this.subscriber = this.redis.duplicate('signing-keys');
    if (this.subscriber) {
      const subscriber = this.subscriber;
      subscriber.on('ready', () => void subscriber.subscribe(this.channel).catch(() => undefined));
      subscriber.on('message', (channel: string) => {
        if (channel === this.channel) void this.load().catch((error) => this.logSyncFailure(error));
      });
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
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

  /** Publishes a new key now; it signs once JWT_KEY_PUBLISH_AHEAD_SECONDS have passed. */
  async rotate(): Promise<KeyView[]> {
    this.assertManaged();
    await this.repository.locked(async (tx) => {
      await this.insertNew(tx, new Date(Date.now() + this.auth.jwtKeyPublishAheadSeconds * 1000));
    });
    await this.changed();
    return this.list();
  }

  /** A compromised key: out of the JWKS and refused at once; if it was signing, a new key signs at once. */
  async revoke(kid: string): Promise<KeyView[]> {
    this.assertManaged();
    const found = await this.repository.locked(async (tx) => {
      if (!(await this.repository.revoke(tx, kid))) return false;
      const rows = await this.repository.all(tx);
      if (!this.activeRow(rows, Date.now())) await this.insertNew(tx, 'now');
      return true;
    });
    if (!found) throw new AppError(ErrorCode.NotFound, 'No such signing key, or it is already revoked.');
    await this.changed();
    return this.list();
  }

  private assertManaged(): void {
    if (!this.managed) {
      throw new AppError(
        ErrorCode.NotFound,
        'Signing keys are not managed by Latch here (JWT_ALGORITHM=HS256 or JWT_SIGNING_KEYS is set).',
      );
    }
  }

  private async changed(): Promise<void> {
    await this.load();
    const client = this.redis.client;
    if (client) await client.publish(this.channel, '1').catch(() => undefined);
  }

  private current(): Snapshot {
    const snapshot = this.snapshot;
    if (!snapshot) throw new Error('signing keys are not loaded yet');
    if (Date.now() < snapshot.validUntil) return snapshot;
    this.snapshot = this.managedSnapshot(Date.now());
    return this.snapshot;
  }

  private activeRow(rows: readonly StoredKey[], now: number): StoredKey | undefined {
    const due = timeline(rows, this.algorithm).filter((t) => t.row.activatesAt.getTime() <= now);
    return due[due.length - 1]?.row;
  }

  /** Under the lock: opens the stored keys (refusing if it cannot), creates the first key, rotates when due. */
  private async ensure(): Promise<void> {
    await this.repository.locked(async (tx) => {
      const rows = await this.repository.all(tx);
      const now = Date.now();
      this.openNeeded(rows, now);
      await this.resealStale(tx, rows);
      const active = this.activeRow(rows, now);
      if (!active) {
        await this.insertNew(tx, 'now');
        return;
      }
      const rotationMs = this.auth.jwtKeyRotationDays * 86_400_000;
      const aheadMs = this.auth.jwtKeyPublishAheadSeconds * 1000;
      const dueAt = active.activatesAt.getTime() + rotationMs;
      const hasNext = rows.some(
        (row) =>
          row.alg === this.algorithm && !row.revokedAt && row.activatesAt.getTime() > active.activatesAt.getTime(),
      );
      if (!hasNext && dueAt - aheadMs <= now) await this.insertNew(tx, new Date(Math.max(now + aheadMs, dueAt)));
    });
    await this.load();
  }

  private async insertNew(
    tx: Parameters<SigningKeysRepository['insert']>[0],
    activatesAt: Date | 'now',
  ): Promise<void> {
    const { key, privateJwk } = generateSigningKey(this.algorithm as AsymmetricAlgorithm);
    await this.repository.insert(tx, {
      kid: key.kid,
      alg: key.alg,
      publicJwk: key.publicJwk,
      privateSealed: this.box.seal(JSON.stringify(privateJwk), sealContext(key.kid)),
      activatesAt,
    });
    this.opened.set(key.kid, key);
  }

  /** After an ENCRYPTION_KEY rotation ("new,old"), keys still in use are re-sealed under the new one. */
  private async resealStale(tx: Parameters<SigningKeysRepository['reseal']>[0], rows: readonly StoredKey[]) {
    for (const row of rows) {
      const key = this.opened.get(row.kid);
      if (!key || row.revokedAt || !this.box.isStale(row.privateSealed)) continue;
      const jwk = JSON.stringify(key.privateKey.export({ format: 'jwk' }));
      await this.repository.reseal(tx, row.kid, this.box.seal(jwk, sealContext(row.kid)));
    }
  }

  /** Re-reads the rows and rebuilds the ring. */
  private async load(): Promise<void> {
    const rows = await this.repository.all();
    this.openNeeded(rows, Date.now());
    this.stored = rows;
    this.snapshot = this.managedSnapshot(Date.now());
  }

  private ttlMs(): number {
    return this.auth.jwtAccessTtl * 1000;
  }

  /** Rows still published: the next keys, the active one, and retired ones whose tokens may still live. */
  private published(rows: readonly StoredKey[], now: number): Timeline[] {
    return timeline(rows, this.algorithm).filter((t) => !t.retiresAt || t.retiresAt.getTime() + this.ttlMs() > now);
  }

  private openNeeded(rows: readonly StoredKey[], now: number): void {
    for (const { row } of this.published(rows, now)) {
      if (this.opened.has(row.kid)) continue;
      let jwk: Record<string, unknown>;
      try {
        jwk = JSON.parse(this.box.open(row.privateSealed, sealContext(row.kid))) as Record<string, unknown>;
      } catch {
        throw new SigningKeysLockedError(row.kid);
      }
      this.opened.set(row.kid, signingKeyFromJwk(jwk, row.kid, this.algorithm as AsymmetricAlgorithm));
    }
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

  private logSyncFailure(error: unknown): void {
    const reason = error instanceof SigningKeysLockedError ? error.message : ((error as Error)?.name ?? 'error');
    this.logger.error(`Could not refresh the signing keys (the current ones stay in use): ${reason}`);
  }
}
