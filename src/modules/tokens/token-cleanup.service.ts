// One cleanup run (the scheduled task and `npm run tokens:cleanup` both call run()): expired
// sessions, revoked sessions past REVOKED_TOKEN_RETENTION_DAYS, spent or expired one-time tokens,
// API keys expired longer ago than the same retention (asked of the api-keys module, which owns
// api_keys), delivered mail past its retention (asked of the mail module, which owns mail_outbox),
// and grace-window ciphertexts whose window has passed.
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AuthConfig, LatchConfig } from '../../config/configuration';
import { ApiKeyRetention } from '../api-keys/api-key-retention.service';
import { MailOutbox } from '../mail/mail-outbox.service';
import { TokenCleanupRepository } from './token-cleanup.repository';

/** Rows per statement: small enough that each batch is a short transaction. */
export const CLEANUP_BATCH_SIZE = 500;
/** Bounds one run; what is left is taken by the next run. */
const MAX_BATCHES_PER_KIND = 2000;

export interface CleanupReport {
  expiredSessions: number;
  revokedSessions: number;
  graceCiphertexts: number;
  oneTimeTokens: number;
  expiredApiKeys: number;
  sentMail: number;
  durationMs: number;
}

export interface CleanupSettings {
  revokedTokenRetentionDays: number;
  refreshReuseGraceSeconds: number;
  /** REFRESH_IDLE_TTL: sessions idle this long are removed too; 0: no idle limit. */
  refreshIdleTtl?: number;
}

@Injectable()
export class TokenCleanupService {
  private readonly logger = new Logger('TokenCleanup');
  private readonly settings: CleanupSettings;
  private stopping = false;

  constructor(
    private readonly repository: TokenCleanupRepository,
    private readonly mail: MailOutbox,
    private readonly apiKeys: ApiKeyRetention,
    config: ConfigService<LatchConfig, true>,
  ) {
    const auth: AuthConfig = config.get('auth', { infer: true });
    this.settings = {
      revokedTokenRetentionDays: auth.revokedTokenRetentionDays,
      refreshReuseGraceSeconds: auth.refreshReuseGraceSeconds,
      refreshIdleTtl: auth.refreshIdleTtl,
    };
  }

  /** Ends a run between two batches (shutdown). */
  stop(): void {
    this.stopping = true;
  }

  /** One pass; null when another instance holds the lock (it is cleaning right now). */
  async run(): Promise<CleanupReport | null> {
    const started = Date.now();
    const report = await this.repository.withLock(async (session) => {
      const { revokedTokenRetentionDays: days, refreshReuseGraceSeconds: grace } = this.settings;
      const batches = (step: (limit: number) => Promise<number>) => this.inBatches(step);
      return {
        expiredSessions: await batches((n) => session.deleteExpiredSessions(n, this.settings.refreshIdleTtl ?? 0)),
        revokedSessions: await batches((n) => session.deleteRevokedSessions(days, n)),
        graceCiphertexts: await batches((n) => session.clearGraceCiphertexts(grace, n)),
        oneTimeTokens: await batches((n) => session.deleteSpentOneTimeTokens(n)),
        expiredApiKeys: await batches((n) => this.apiKeys.deleteExpiredPastRetention(days, n)),
        sentMail: await batches((n) => this.mail.deleteSentPastRetention(n)),
        durationMs: 0,
      } satisfies CleanupReport;
    });
    if (!report) {
      this.logger.debug('Another instance is cleaning up; skipped');
      return null;
    }
    report.durationMs = Date.now() - started;
    this.logger.log(
      `Removed ${report.expiredSessions} expired and ${report.revokedSessions} revoked sessions ` +
        `(retention ${this.settings.revokedTokenRetentionDays} d), ${report.oneTimeTokens} spent or expired ` +
        `one-time tokens, ${report.expiredApiKeys} expired API keys, ${report.sentMail} sent mails; ` +
        `cleared ${report.graceCiphertexts} grace ciphertexts in ${report.durationMs} ms`,
    );
    return report;
  }

  private async inBatches(step: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_KIND && !this.stopping; batch++) {
      const removed = await step(CLEANUP_BATCH_SIZE);
      total += removed;
      if (removed < CLEANUP_BATCH_SIZE) break;
    }
    return total;
  }
}
