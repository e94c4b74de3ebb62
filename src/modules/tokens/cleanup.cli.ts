// `npm run tokens:cleanup`: one cleanup run by hand, with the same configuration and the same
// advisory lock as the scheduled task (so it never overlaps a running instance's cleanup).
// Exit code 0 after a run or when another holder of the lock is cleaning right now; 1 on failure.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { ConfigError } from '../../config/env';
import { LatchConfig, loadConfig } from '../../config/configuration';
import { dataSourceOptions } from '../../database/data-source';
import { RunningDatabase, startEmbeddedPostgres } from '../../database/embedded-postgres';
import { MailOutboxRepository } from '../mail/mail-outbox.repository';
import { MailOutbox } from '../mail/mail-outbox.service';
import { TokenCleanupRepository } from './token-cleanup.repository';
import { TokenCleanupService } from './token-cleanup.service';

const logger = new Logger('TokenCleanup');

async function main(): Promise<number> {
  const config = loadConfig(process.env);
  let embedded: RunningDatabase | undefined;
  if (!config.database.url) {
    logger.log(`No DATABASE_URL: using the embedded PostgreSQL under ${config.app.dataDir}/postgres`);
    embedded = await startEmbeddedPostgres({ dataDir: config.app.dataDir });
    config.database.url = embedded.url;
  }
  const dataSource = new DataSource(dataSourceOptions(config.database, config.database.url));
  try {
    await dataSource.initialize();
    const settings = { get: (key: keyof LatchConfig) => config[key] } as unknown as ConfigService<LatchConfig, true>;
    const mail = new MailOutbox(new MailOutboxRepository(dataSource));
    const report = await new TokenCleanupService(new TokenCleanupRepository(dataSource), mail, settings).run();
    if (!report) logger.log('Another instance holds the cleanup lock and is cleaning right now; nothing to do');
    return 0;
  } finally {
    await dataSource.destroy().catch(() => undefined);
    await embedded?.stop();
  }
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else logger.error(`Token cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
