// Readiness hinges on PostgreSQL: one `SELECT 1` with a short deadline. Errors are reported by a
// fixed text, never the driver's, which may name the host.
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** Well inside the probe's timeout, and short enough that an outage shows within 5 s. */
export const DATABASE_PING_TIMEOUT_MS = 1500;

@Injectable()
export class DatabaseIndicator {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly health: HealthIndicatorService,
  ) {}

  check() {
    return this.health
      .check('database')
      .attempt(async () => {
        try {
          await this.db.query('SELECT 1');
        } catch {
          throw new Error('PostgreSQL is not answering');
        }
      })
      .withTimeout(DATABASE_PING_TIMEOUT_MS);
  }
}
