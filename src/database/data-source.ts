// The TypeORM data source options, shared by the application and the migration CLI (ormconfig.ts),
// so the two can never disagree. Schema changes only through migrations: synchronize stays off.
import type { DataSourceOptions } from 'typeorm';
import { DataSource } from 'typeorm';
import { BoundedClient } from './bounded-client';
import type { DatabaseConfig } from '../config/configuration';
import { AuthEventEntity } from '../modules/audit/auth-event.entity';
import { MailRequestQuotaEntity } from '../modules/auth/mail-request-quota.entity';
import { PasswordResetRequestEntity } from '../modules/auth/password-reset-request.entity';
import { KnownDeviceEntity } from '../modules/mail/known-device.entity';
import { MailOutboxEntity } from '../modules/mail/mail-outbox.entity';
import { MfaChallengeEntity } from '../modules/mfa/mfa-challenge.entity';
import { MfaFactorEntity } from '../modules/mfa/mfa-factor.entity';
import { RecoveryCodeEntity } from '../modules/mfa/recovery-code.entity';
import { SigningKeyEntity } from '../modules/keys/signing-key.entity';
import { ApiKeyEntity } from '../modules/api-keys/api-key.entity';
import { OneTimeTokenEntity } from '../modules/tokens/one-time-token.entity';
import { RefreshSessionEntity } from '../modules/tokens/refresh-session.entity';
import { RefreshTokenHistoryEntity } from '../modules/tokens/refresh-token-history.entity';
import { UserEntity } from '../modules/users/user.entity';
import { InitialSchema1763700000000 } from './migrations/1763700000000-initial-schema';
import { PasswordResetRequests1763700003000 } from './migrations/1763700003000-password-reset-requests';
import { MailOutbox1763700001000 } from './migrations/1763700001000-mail-outbox';
import { AuthEvents1763700002000 } from './migrations/1763700002000-auth-events';
import { MailOutboxSealedSecrets1763700004100 } from './migrations/1763700004100-mail-outbox-sealed-secrets';
import { Mfa1763700005000 } from './migrations/1763700005000-mfa';
import { SigningKeys1763700006000 } from './migrations/1763700006000-signing-keys';
import { ApiKeys1763700007000 } from './migrations/1763700007000-api-keys';

/** Every table's entity (src/database/sql.ts: one entity per table, owned by one module). */
export const ENTITIES = [
  UserEntity,
  RefreshSessionEntity,
  RefreshTokenHistoryEntity,
  OneTimeTokenEntity,
  AuthEventEntity,
  MailOutboxEntity,
  KnownDeviceEntity,
  MailRequestQuotaEntity,
  PasswordResetRequestEntity,
  MfaFactorEntity,
  RecoveryCodeEntity,
  MfaChallengeEntity,
  SigningKeyEntity,
  ApiKeyEntity,
];
export const MIGRATIONS = [
  InitialSchema1763700000000,
  MailOutbox1763700001000,
  AuthEvents1763700002000,
  PasswordResetRequests1763700003000,
  MailOutboxSealedSecrets1763700004100,
  Mfa1763700005000,
  SigningKeys1763700006000,
  ApiKeys1763700007000,
];

// Every wait on PostgreSQL is bounded, so that a database that stops answering (connections open,
// nothing comes back) turns into 503s well inside the 10 s ceiling per request (docs/operations.md), and the
// request deadline (src/common/lifecycle/request-deadline.ts) only has to catch what slips through.

/** How long a request may wait for a pooled connection (or a new one to connect) before it is answered 503. */
export const CONNECT_TIMEOUT_MS = 3000;
/**
 * Client-side bound on one query, for the dead or silent link the server cannot see;
 * BoundedClient then ends the connection, so a COMMIT that never answers is not followed by a
 * ROLLBACK that waits as long again.
 */
export const QUERY_TIMEOUT_MS = 5000;
/** Server-side bounds, shorter than the client's so that a live server cancels first and the connection stays usable. */
export const STATEMENT_TIMEOUT_MS = 4000;
export const LOCK_TIMEOUT_MS = 2000;
/**
 * A transaction left open longer than any request may live belongs to a client that hung or went
 * away: the server ends it rather than keep its locks.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

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
      Client: BoundedClient,
      preparedStatements: config.preparedStatements,
      max: config.poolMax,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      query_timeout: QUERY_TIMEOUT_MS,
      // Sent with the connection's startup parameters, so they hold for every session the pool opens.
      statement_timeout: STATEMENT_TIMEOUT_MS,
      lock_timeout: LOCK_TIMEOUT_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      application_name: 'latch',
    },
  };
}

/**
 * The same options without the per-statement bounds, for schema migrations (at start and from the
 * CLI): building an index on a large table may rightly take longer than any request may.
 */
export function migrationDataSourceOptions(config: DatabaseConfig, url: string): DataSourceOptions {
  const options = dataSourceOptions(config, url);
  return { ...options, extra: { ...options.extra, ...UNBOUNDED_STATEMENTS } };
}

/** What migrationDataSourceOptions sets instead of the request-time bounds (0 is "no limit" to PostgreSQL). */
export const UNBOUNDED_STATEMENTS = {
  query_timeout: undefined,
  statement_timeout: 0,
  lock_timeout: 0,
  // A migration changes the tables a statement prepared on the same connection would read.
  preparedStatements: false,
};

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
