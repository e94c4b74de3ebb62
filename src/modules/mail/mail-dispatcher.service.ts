// Sends what the outbox holds. Woken right after a transaction that queued mail commits, and by a
// sweep every few seconds (for other instances' mail, retries, and whatever a crash left behind).
// A few workers per instance each claim one due message at a time (FOR UPDATE SKIP LOCKED), so
// across instances every message is taken by one sender. Failures back off 2, 4, 8 ... seconds,
// capped at 45 s (plus up to 10% jitter), and park the message as failed after MAIL_MAX_ATTEMPTS.
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Interval } from '@nestjs/schedule';
import type { LatchConfig } from '../../config/configuration';
import { ClaimedMail, MailOutboxRepository } from './mail-outbox.repository';
import { MailSender, SEND_TIMEOUT_MS } from './mail-sender.service';

export const SWEEP_INTERVAL_MS = 5_000;
const WORKERS = 4;
const FIRST_RETRY_SECONDS = 2;
const MAX_RETRY_SECONDS = 45;
/** A claimed message becomes due again after this long if its sender never reports back (crash). */
const CLAIM_LEASE_SECONDS = Math.ceil((SEND_TIMEOUT_MS * 3) / 1000);
/** How long shutdown waits for sends in flight; what is left is sent after the lease by anyone. */
const SHUTDOWN_WAIT_MS = 5_000;
/** Sent messages are kept this long (without their tokens); the scheduled token cleanup removes them after. */
export const SENT_RETENTION_DAYS = 30;

export function retryDelaySeconds(attempt: number): number {
  const base = Math.min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** Math.max(0, attempt - 1));
  return base * (1 + Math.random() * 0.1);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const smtp = error as Error & { code?: string; responseCode?: number; response?: string };
  const parts = [smtp.code, smtp.responseCode, smtp.response ?? error.message].filter((p) => p !== undefined);
  return parts.join(' ');
}

@Injectable()
export class MailDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('MailDispatcher');
  private readonly maxAttempts: number;
  private running: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Set while the outbox cannot be read (database down), so the outage is logged once. */
  private unreachable = false;

  constructor(
    private readonly outbox: MailOutboxRepository,
    private readonly sender: MailSender,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.maxAttempts = config.get('mail', { infer: true }).maxAttempts;
  }

  /** Mail left by a previous run (an outage, a crash) goes out as soon as the instance is up. */
  onApplicationBootstrap(): void {
    this.wake();
  }

  @Interval('mail-outbox-sweep', SWEEP_INTERVAL_MS)
  sweep(): void {
    this.wake();
  }

  /** Starts a drain of the due messages, or asks the running one to look again when it ends. */
  wake(): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(() => {
        if (this.unreachable) this.logger.log('The outbox is reachable again: sending resumed');
        this.unreachable = false;
      })
      .catch((error: unknown) => {
        if (!this.unreachable) this.logger.warn(`Outbox unreachable, mail waits: ${describe(error)}`);
        this.unreachable = true;
      })
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        } else {
          void this.scheduleNextRetry();
        }
      });
  }

  private async drain(): Promise<void> {
    await Promise.all(Array.from({ length: WORKERS }, () => this.work()));
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      const message = await this.outbox.claimNext(CLAIM_LEASE_SECONDS);
      if (!message) return;
      await this.deliver(message);
    }
  }

  private async deliver(message: ClaimedMail): Promise<void> {
    try {
      await this.sender.send(message);
    } catch (error) {
      const reason = describe(error);
      const outcome = await this.outbox.markAttemptFailed(
        message.id,
        message.attempt,
        reason,
        retryDelaySeconds(message.attempt),
        this.maxAttempts,
      );
      if (outcome === 'failed') {
        this.logger.error(
          `${message.template} mail ${message.id} parked as failed after ${message.attempt} attempts: ${reason}`,
        );
      } else {
        this.logger.warn(`${message.template} mail ${message.id} attempt ${message.attempt} failed: ${reason}`);
      }
      return;
    }
    await this.outbox.markSent(message.id, message.attempt);
  }

  /** Retries of this instance's failures are not left to the next sweep: wake when the first is due. */
  private async scheduleNextRetry(): Promise<void> {
    if (this.stopping) return;
    const seconds = await this.outbox.secondsUntilNextDue().catch(() => null);
    if (seconds === null || seconds * 1000 >= SWEEP_INTERVAL_MS || this.stopping) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        this.wake();
      },
      Math.ceil(seconds * 1000) + 50,
    );
    this.retryTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SHUTDOWN_WAIT_MS);
    });
    await Promise.race([this.running, deadline]);
    clearTimeout(timer);
  }
}
