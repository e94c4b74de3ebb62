// Turns recorded forgot-password requests into a reset token and its mail, after the response.
// Each request is processed in one transaction that also consumes its row, so a crash in between
// only delays the mail until the periodic sweep finds the row. At most a share of the connection
// pool processes requests at once; the rest wait their turn.
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainEvents } from '../../common/events/domain-events.service';
import type { LatchConfig } from '../../config/configuration';
import { MailService } from '../mail/mail.service';
import { OneTimeTokensService } from '../tokens/one-time-tokens.service';
import { UsersService } from '../users/users.service';
import { MailRequestQuota } from './mail-request-quota';
import { PasswordResetRequestsRepository } from './password-reset-requests.repository';

/** A forgot-password request not processed after this long (a crash) is picked up by the sweep. */
const RESET_REQUEST_STALE_SECONDS = 5;
const RESET_SWEEP_JOB = 'password-reset-requests-sweep';
const RESET_SWEEP_BATCH = 50;
/**
 * Reset requests processed at once, as a share of the connection pool. Each holds a connection for its
 * transaction while the quota and the account lookup take another, so an unbounded burst (bench:
 * 16 concurrent forgot-password requests on the default pool of 20) held the whole pool and waited
 * for more: seconds per request, for every route. A quarter of the pool keeps half of it free.
 */
const RESET_PROCESS_SHARE_OF_POOL = 1 / 4;

@Injectable()
export class PasswordResetRequestsProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly ttlSeconds: number;
  private readonly sweepMs: number;
  private readonly logger = new Logger('PasswordResetRequests');
  private readonly concurrency: number;
  private processing = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly requests: PasswordResetRequestsRepository,
    private readonly quota: MailRequestQuota,
    private readonly users: UsersService,
    private readonly oneTimeTokens: OneTimeTokensService,
    private readonly mail: MailService,
    private readonly events: DomainEvents,
    private readonly registry: SchedulerRegistry,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.ttlSeconds = config.get('auth', { infer: true }).passwordResetTtl;
    this.sweepMs = config.get('auth', { infer: true }).passwordResetSweepMs;
    const poolMax = config.get('database', { infer: true }).poolMax;
    this.concurrency = Math.max(1, Math.floor(poolMax * RESET_PROCESS_SHARE_OF_POOL));
  }

  /** Processes the recorded request `id` after the response, tracked for shutdown. */
  processAfterResponse(id: string): void {
    void this.events.track('password reset request', () => this.limit(() => this.process(id)));
  }

  /** Every PASSWORD_RESET_SWEEP_MS, the sweep looks for requests a crash cut off. */
  onApplicationBootstrap(): void {
    const tick = () =>
      this.sweep().catch((error: unknown) =>
        this.logger.warn(
          `Password reset request sweep failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    this.registry.addInterval(
      RESET_SWEEP_JOB,
      setInterval(() => void tick(), this.sweepMs),
    );
  }

  beforeApplicationShutdown(): void {
    if (this.registry.doesExist('interval', RESET_SWEEP_JOB)) this.registry.deleteInterval(RESET_SWEEP_JOB);
  }

  /** Picks up requests whose after-response processing never ran (a crash, a restart). */
  async sweep(): Promise<void> {
    for (let i = 0; i < RESET_SWEEP_BATCH; i++) {
      if (!(await this.limit(() => this.process(null)))) return;
    }
  }

  /** Runs `work` when fewer than `concurrency` run, else after its turn (FIFO). */
  private async limit<T>(work: () => Promise<T>): Promise<T> {
    if (this.processing < this.concurrency) this.processing += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.processing -= 1;
    }
  }

  /** Turns one recorded request into a token and a mail; false when there was none to take. */
  private process(id: string | null): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const request = await this.requests.take(manager, id, RESET_REQUEST_STALE_SECONDS);
      if (!request) return false;
      const withinQuota = await this.quota.take('password-reset', request.address);
      const user = withinQuota ? await this.users.findForLogin(request.address) : null;
      if (!user) return true;
      const token = await this.oneTimeTokens.issue(manager, user.id, 'password_reset', this.ttlSeconds, true);
      await this.mail.forgetTokens(manager, user.id, 'reset-password'); // the older links were just voided
      await this.mail.queue(manager, {
        template: 'reset-password',
        to: user.email,
        userId: user.id,
        secret: token,
        data: { ttlSeconds: String(this.ttlSeconds) },
      });
      return true;
    });
  }
}
