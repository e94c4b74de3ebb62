// The TypeORM data source options, shared by the application and the migration CLI (ormconfig.ts),
// so the two can never disagree. Schema changes only through migrations: synchronize stays off.
import type { DataSourceOptions } from 'typeorm';
import { DataSource } from 'typeorm';
import type { DatabaseConfig } from '../config/configuration';
import { AuthEventEntity } from '../modules/audit/auth-event.entity';
import { MailOutboxEntity } from '../modules/mail/mail-outbox.entity';
import { OneTimeTokenEntity } from '../modules/tokens/one-time-token.entity';
import { RefreshSessionEntity } from '../modules/tokens/refresh-session.entity';
import { UserEntity } from '../modules/users/user.entity';
import { InitialSchema1763700000000 } from './migrations/1763700000000-initial-schema';
import { PasswordResetRequests1763700003000 } from './migrations/1763700003000-password-reset-requests';
import { MailOutbox1763700001000 } from './migrations/1763700001000-mail-outbox';
import { AuthEvents1763700002000 } from './migrations/1763700002000-auth-events';
import { MailOutboxSealedSecrets1763700004100 } from './migrations/1763700004100-mail-outbox-sealed-secrets';

export const ENTITIES = [UserEntity, RefreshSessionEntity, OneTimeTokenEntity, AuthEventEntity, MailOutboxEntity];
export const MIGRATIONS = [
  InitialSchema1763700000000,
  MailOutbox1763700001000,
  AuthEvents1763700002000,
  PasswordResetRequests1763700003000,
  MailOutboxSealedSecrets1763700004100,
];

/** How long a request may wait for a pooled connection before it is answered 503. */
export const CONNECT_TIMEOUT_MS = 3000;

export function dataSourceOptions(config: DatabaseConfig, url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    logging: false, // failures reach the exception filter, which logs what matters without SQL
    extra: {
      max: config.poolMax,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      // A statement stuck on a dead connection must not hold a request past the 10 s ceiling (docs/operations.md).
      query_timeout: 8000,
      application_name: 'latch',
    },
  };
}

const MIGRATION_LOCK_KEY = 7_411_001;

/** Applies pending migrations; an advisory lock makes instances that start together take turns. */
export async function runMigrations(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}
