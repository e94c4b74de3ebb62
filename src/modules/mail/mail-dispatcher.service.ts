// Sends what the outbox holds. Woken right after a transaction that queued mail commits, and by a
// sweep every few seconds (for other instances' mail, retries, and whatever a crash left behind).
// A few workers per instance each claim one due message at a time (FOR UPDATE SKIP LOCKED), so
// across instances every message is taken by one sender. Failures back off 2, 4, 8 ... seconds,
// capped at 45 s (plus up to 10% jitter), and park the message as failed after MAIL_MAX_ATTEMPTS.
//
// Exactly once across a database outage: a message the SMTP server accepted is never sent again by
// this instance. When "sent" cannot be recorded (PostgreSQL went away just then), the acceptance is
// held in memory and recording is retried every second or so until the database answers; if the
// lease ran out meanwhile and a worker here claims the message again, it records it instead of
// sending it. After an outage the instance records what it holds, then waits a few seconds before
// claiming, so that other instances holding acceptances record theirs first. Only a crash (or a
// shutdown that cannot reach the database in time) between acceptance and record may repeat a
// message, with the same Message-ID.
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Interval } from '@nestjs/schedule';
import { runOutsideRequests } from '../../common/request-context';
import type { LatchConfig } from '../../config/configuration';
import type { MailTemplateName } from './mail-outbox.entity';
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
/** How long shutdown then tries to record acceptances it holds (main.ts stops everything at 9.5 s). */
const SHUTDOWN_RECORD_MS = 2_000;
/** Retries of recording a held acceptance: first after this long, doubling up to the cap. */
const RECORD_RETRY_FIRST_MS = 100;
const RECORD_RETRY_MAX_MS = 1_000;
/** After an outage, claiming waits this long so other instances record the acceptances they hold. */
export const RESUME_GRACE_MS = 3_000;
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
  /** Messages the SMTP server accepted whose "sent" is not recorded yet, by id. */
  private readonly accepted = new Map<string, MailTemplateName>();
  private recording: Promise<void> | null = null;
  private recordTimer: NodeJS.Timeout | null = null;
  private recordRetryMs = RECORD_RETRY_FIRST_MS;
  private stopped!: () => void;
  /** Settles when shutdown begins, to cut a wait short. */
  private readonly stopSignal = new Promise<void>((resolve) => (this.stopped = resolve));

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
    // A drain serves every request's mail: it keeps none of them alive (nor the waking one's id in its logs).
    runOutsideRequests(() => this.startDrain());
  }

  private startDrain(): void {
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
    if (this.unreachable) await this.resume();
    await Promise.all(Array.from({ length: WORKERS }, () => this.work()));
  }

  /**
   * The first drain after an outage: once the outbox answers, record the acceptances held here, then
   * give other instances the same chance before claiming messages whose lease ran out meanwhile.
   */
  private async resume(): Promise<void> {
    await this.outbox.secondsUntilNextDue(); // throws while the database is still away
    await this.recordAccepted();
    await Promise.race([sleep(RESUME_GRACE_MS), this.stopSignal]);
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      const message = await this.outbox.claimNext(CLAIM_LEASE_SECONDS);
      if (!message) return;
      await this.deliver(message);
    }
  }

  private async deliver(message: ClaimedMail): Promise<void> {
    if (this.accepted.has(message.id)) {
      // Accepted on an earlier attempt whose lease ran out before "sent" could be recorded.
      await this.recordSent(message.id);
      this.logger.log(`${message.template} mail ${message.id} was accepted before: recorded, not sent again`);
      return;
    }
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
    this.accepted.set(message.id, message.template);
    try {
      await this.recordSent(message.id);
    } catch (error) {
      this.logger.warn(
        `${message.template} mail ${message.id} accepted by SMTP but not recorded as sent (${describe(error)}): ` +
          'held until the outbox answers',
      );
      this.scheduleRecording();
      throw error;
    }
  }

  private async recordSent(id: string): Promise<void> {
    await this.outbox.markSent(id);
    this.accepted.delete(id);
  }

  /** One pass over the held acceptances (joined if one runs); a failure schedules the next pass. */
  private recordAccepted(): Promise<void> {
    this.recording ??= this.recordPass().finally(() => {
      this.recording = null;
      this.scheduleRecording();
    });
    return this.recording;
  }

  private async recordPass(): Promise<void> {
    try {
      for (const [id, template] of [...this.accepted]) {
        if (!this.accepted.has(id)) continue; // a worker recorded it meanwhile
        await this.recordSent(id);
        this.logger.log(`${template} mail ${id} accepted earlier: now recorded as sent`);
      }
      this.recordRetryMs = RECORD_RETRY_FIRST_MS;
    } catch {
      this.recordRetryMs = Math.min(RECORD_RETRY_MAX_MS, this.recordRetryMs * 2);
    }
  }

  private scheduleRecording(): void {
    if (this.stopping || this.recordTimer || this.recording || this.accepted.size === 0) return;
    this.recordTimer = setTimeout(() => {
      this.recordTimer = null;
      void this.recordAccepted();
    }, this.recordRetryMs);
    this.recordTimer.unref();
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

  /** Waits (bounded) for sends in flight, then tries (bounded) to record the acceptances held. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.stopped();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.running) await within(this.running, SHUTDOWN_WAIT_MS);
    if (this.recordTimer) clearTimeout(this.recordTimer);
    this.recordTimer = null;
    const deadline = Date.now() + SHUTDOWN_RECORD_MS;
    while (this.accepted.size > 0 && Date.now() < deadline) {
      await within(this.recordAccepted(), deadline - Date.now());
      const pause = Math.min(100, deadline - Date.now());
      if (this.accepted.size > 0 && pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    }
    if (this.accepted.size > 0) {
      this.logger.error(
        `Stopping with ${this.accepted.size} accepted mail not recorded as sent (${[...this.accepted.keys()].join(', ')}): ` +
          'another instance may send them again after their lease, with the same Message-ID',
      );
    }
  }
}

/** Waits for `promise` at most `ms` (never rejects). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms));
  });
  await Promise.race([promise.catch(() => undefined), deadline]);
  clearTimeout(timer);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}
