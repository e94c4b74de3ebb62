// Runs the token cleanup on TOKEN_CLEANUP_CRON. Every instance schedules it; the advisory lock in
// TokenCleanupRepository lets one of them work while the others skip. A run still going when the
// next tick comes is not doubled, and shutdown waits for the current batch to finish.
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import type { LatchConfig } from '../../config/configuration';
import { Metrics } from '../observability/metrics/metrics.service';
import { CleanupReport, TokenCleanupService } from './token-cleanup.service';

export const TOKEN_CLEANUP_JOB = 'token-cleanup';

@Injectable()
export class TokenCleanupTask implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('TokenCleanup');
  private readonly cron: string;
  private running: Promise<CleanupReport | null> | null = null;

  constructor(
    private readonly cleanup: TokenCleanupService,
    private readonly registry: SchedulerRegistry,
    config: ConfigService<LatchConfig, true>,
    private readonly metrics: Metrics,
  ) {
    this.cron = config.get('auth', { infer: true }).tokenCleanupCron;
  }

  onApplicationBootstrap(): void {
    const job = CronJob.from({ cronTime: this.cron, onTick: () => void this.tick(), start: false });
    this.registry.addCronJob(TOKEN_CLEANUP_JOB, job);
    job.start();
  }

  /** Before the pools close: stop scheduling, end the run after its current batch. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.registry.doesExist('cron', TOKEN_CLEANUP_JOB)) this.registry.deleteCronJob(TOKEN_CLEANUP_JOB);
    this.cleanup.stop();
    await this.running?.catch(() => undefined);
  }

  /** One scheduled run; errors (the database is down) are logged and the next tick tries again. */
  async tick(): Promise<CleanupReport | null> {
    if (this.running) return null;
    this.running = this.cleanup.run();
    try {
      const report = await this.running;
      this.metrics.recordTokenCleanup(report ? 'success' : 'skipped');
      return report;
    } catch (error) {
      this.metrics.recordTokenCleanup('failed');
      this.logger.warn(`Token cleanup failed; retrying at the next tick: ${(error as Error).message}`);
      return null;
    } finally {
      this.running = null;
    }
  }
}
