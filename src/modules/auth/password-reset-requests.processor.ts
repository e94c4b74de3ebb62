// Turns recorded forgot-password requests into a reset token and its mail, after the response.
// Each request is processed in one transaction that also consumes its row, so a crash in between
// only delays the mail until the periodic sweep finds the row. At most a share of the connection
// pool processes requests at once; the rest wait their turn.
//
// What waits is only the row's id, in one array that a few tracked workers drain, not a promise
// chain per request: a chain started in the request kept its context, the framework request and its
// headers alive (about 6 KB each; a burst of 10,000 waiting requests was 60 MB of heap). Past
// QUEUED_IDS_MAX ids a burst waits in PostgreSQL alone, and the workers take the oldest rows from
// the table once the ids kept here are done, so every request is still processed, once.
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainEvents } from '../../common/events/domain-events.service';
import { runOutsideRequests } from '../../common/request-context';
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
/** Ids kept in memory for processing (about 40 bytes each); the rest of a burst waits in its table. */
export const QUEUED_IDS_MAX = 10_000;

@Injectable()
export class PasswordResetRequestsProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly ttlSeconds: number;
  private readonly sweepMs: number;
  private readonly logger = new Logger('PasswordResetRequests');
  private readonly concurrency: number;
  private processing = 0;
  private readonly waiting: (() => void)[] = [];
  /** Recorded here and not processed yet, oldest first. */
  private readonly queued: string[] = [];
  /** Recorded here but not kept in `queued` (it was full): taken from the table by age instead. */
  private overflow = 0;
  private workers = 0;

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
    if (this.queued.length < QUEUED_IDS_MAX) this.queued.push(id);
    else this.overflow += 1;
    if (this.workers >= this.concurrency) return;
    this.workers += 1;
    // A worker serves many requests: it keeps none of them (nor the first one's id in its logs).
    runOutsideRequests(() => void this.events.track('password reset requests', () => this.work()));
  }

  /** Requests recorded here and waiting for processing (for tests and diagnostics). */
  get backlog(): { queued: number; inTable: number } {
    return { queued: this.queued.length, inTable: this.overflow };
  }

  /** One worker: the kept ids first, then as many of the oldest rows as were not kept. */
  private async work(): Promise<void> {
    try {
      for (;;) {
        const id = this.queued.shift();
        if (id === undefined && this.overflow === 0) return;
        if (id === undefined) this.overflow -= 1;
        // An overflowed request is any unprocessed row: the oldest, whoever recorded it.
        const took = await this.limit(() => this.process(id ?? null, 0)).catch((error: unknown) => {
          this.logger.error(
            `Password reset request ${id ?? '(oldest)'} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
          return true; // its row stays; the sweep retries it
        });
        if (took) continue;
        // No row left to take: the rest were taken by others. A kept id whose row was gone was taken
        // as someone's oldest in place of another, which may be one of ours: look for one more.
        if (id === undefined) this.overflow = 0;
        else this.overflow += 1;
      }
    } finally {
      this.workers -= 1;
    }
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
      if (!(await this.limit(() => this.process(null, RESET_REQUEST_STALE_SECONDS)))) return;
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

  /**
   * Turns one recorded request into a token and a mail: `id`, or the oldest left for `staleSeconds`;
   * false when there was none to take.
   */
  private process(id: string | null, staleSeconds: number): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const request = await this.requests.take(manager, id, staleSeconds);
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
