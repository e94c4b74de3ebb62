// `npm run tokens:cleanup`: one cleanup run by hand, with the same configuration and the same
// advisory lock as the scheduled task (so it never overlaps a running instance's cleanup).
// Exit code 0 after a run or when another holder of the lock is cleaning right now; 1 on failure.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { ConfigError } from '../../config/env';
import { LatchConfig, loadConfig } from '../../config/configuration';
import { dataSourceOptions } from '../../database/data-source';
import { ReadReplicas } from '../../database/read-replicas';
import { configuredOrEmbeddedDatabase } from '../../database/embedded-postgres';
import { ApiKeyRetention } from '../api-keys/api-key-retention.service';
import { ApiKeysRepository } from '../api-keys/api-keys.repository';
import { MailOutboxRepository } from '../mail/mail-outbox.repository';
import { MailOutbox } from '../mail/mail-outbox.service';
import { TokenCleanupRepository } from './token-cleanup.repository';
import { TokenCleanupService } from './token-cleanup.service';

const logger = new Logger('TokenCleanup');

async function main(): Promise<number> {
  const config = loadConfig(process.env);
  const database = await configuredOrEmbeddedDatabase(config, logger);
  const dataSource = new DataSource(dataSourceOptions(config.database, database.url));
  try {
    await dataSource.initialize();
    // The real ConfigService over the same namespaces the application registers.
    const settings = new ConfigService<LatchConfig, true>(config);
    const mail = new MailOutbox(new MailOutboxRepository(dataSource, ReadReplicas.primaryOnly(dataSource)));
    const apiKeys = new ApiKeyRetention(new ApiKeysRepository(dataSource));
    const cleanup = new TokenCleanupService(new TokenCleanupRepository(dataSource), mail, apiKeys, settings);
    const report = await cleanup.run();
    if (!report) logger.log('Another instance holds the cleanup lock and is cleaning right now; nothing to do');
    return 0;
  } finally {
    await dataSource.destroy().catch(() => undefined);
    await database.stop();
  }
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else logger.error(`Token cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
