// Managed signing keys (docs/security.md, "Signing keys"): the signing_keys rows behind the key ring
// (SigningKeys), their private parts sealed with ENCRYPTION_KEY. Creates the first key, rotates on
// schedule and on demand, revokes, re-seals after an ENCRYPTION_KEY rotation, all under an advisory
// lock; instances hear of changes through Redis at once, else by polling, and load the rows into the ring.
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { AuthConfig, LatchConfig } from '../../config/configuration';
import { RedisService } from '../../redis/redis.service';
import { SecretBox } from '../crypto/secret-box.service';
import { AsymmetricAlgorithm, generateSigningKey, SigningKey, signingKeyFromJwk } from './key-material';
import { SigningKeysRepository, StoredKey } from './signing-keys.repository';
import { KeyView, SigningKeys, timeline } from './signing-keys.service';

/** Without Redis, instances re-read the keys this often (the contract: within a minute). */
const POLL_MS = 30_000;

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

@Injectable()
export class ManagedSigningKeys implements OnModuleInit, OnApplicationShutdown {
  // The log context these lines have always had (the key ring's), so log filters keep finding them.
  private readonly logger = new Logger('SigningKeys');
  private readonly auth: AuthConfig;
  private readonly channel: string;
  /** The keys opened (or generated) so far, by kid: a row is unsealed once per instance. */
  private readonly opened = new Map<string, SigningKey>();
  private timer: NodeJS.Timeout | null = null;
  private subscriber: Redis | null = null;

  constructor(
    config: ConfigService<LatchConfig, true>,
    private readonly ring: SigningKeys,
    private readonly repository: SigningKeysRepository,
    private readonly box: SecretBox,
    private readonly redis: RedisService,
  ) {
    this.auth = config.get('auth', { infer: true });
    this.channel = redis.key('keys', 'changed');
  }

  async onModuleInit(): Promise<void> {
    if (!this.ring.managed) return;
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

  /** Publishes a new key now; it signs once JWT_KEY_PUBLISH_AHEAD_SECONDS have passed. */
  async rotate(): Promise<KeyView[]> {
    this.assertManaged();
    await this.repository.locked(async (tx) => {
      await this.insertNew(tx, new Date(Date.now() + this.auth.jwtKeyPublishAheadSeconds * 1000));
    });
    await this.changed();
    return this.ring.list();
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
    return this.ring.list();
  }

  private assertManaged(): void {
    if (!this.ring.managed) {
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

  private activeRow(rows: readonly StoredKey[], now: number): StoredKey | undefined {
    const due = timeline(rows, this.ring.algorithm).filter((t) => t.row.activatesAt.getTime() <= now);
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
          row.alg === this.ring.algorithm && !row.revokedAt && row.activatesAt.getTime() > active.activatesAt.getTime(),
      );
      if (!hasNext && dueAt - aheadMs <= now) await this.insertNew(tx, new Date(Math.max(now + aheadMs, dueAt)));
    });
    await this.load();
  }

  private async insertNew(
    tx: Parameters<SigningKeysRepository['insert']>[0],
    activatesAt: Date | 'now',
  ): Promise<void> {
    const { key, privateJwk } = generateSigningKey(this.ring.algorithm as AsymmetricAlgorithm);
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
    this.ring.load(rows, this.opened);
  }

  private openNeeded(rows: readonly StoredKey[], now: number): void {
    for (const { row } of this.ring.published(rows, now)) {
      if (this.opened.has(row.kid)) continue;
      let jwk: Record<string, unknown>;
      try {
        jwk = JSON.parse(this.box.open(row.privateSealed, sealContext(row.kid))) as Record<string, unknown>;
      } catch {
        throw new SigningKeysLockedError(row.kid);
      }
      this.opened.set(row.kid, signingKeyFromJwk(jwk, row.kid, this.ring.algorithm as AsymmetricAlgorithm));
    }
  }

  private logSyncFailure(error: unknown): void {
    const reason = error instanceof SigningKeysLockedError ? error.message : ((error as Error)?.name ?? 'error');
    this.logger.error(`Could not refresh the signing keys (the current ones stay in use): ${reason}`);
  }
}
