// TypeORM over the configured PostgreSQL; pending migrations are applied at start unless
// DB_MIGRATIONS_RUN=false. ReadReplicas (DATABASE_READ_URLS) is available to every module.
import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { LatchConfig } from '../config/configuration';
import { dataSourceOptions, runMigrations, UNBOUNDED_STATEMENTS } from './data-source';
import { ReadReplicas } from './read-replicas';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<LatchConfig, true>) => {
        const database = config.get('database', { infer: true });
        if (!database.url) throw new Error('DATABASE_URL was not resolved before the app started');
        // migrationsRun is read by dataSourceFactory, which applies them under an advisory lock.
        return {
          ...dataSourceOptions(database, database.url),
          migrationsRun: database.migrationsRun,
          retryAttempts: 3,
          retryDelay: 1000,
        };
      },
      dataSourceFactory: async (options) => {
        if (!options) throw new Error('missing data source options');
        if (options.migrationsRun) {
          // On connections of their own (the advisory lock holds one), without the per-statement
          // bounds requests live by.
          const extra = { ...(options as { extra?: object }).extra, ...UNBOUNDED_STATEMENTS, max: 2 };
          const migrator = await new DataSource({ ...options, extra, migrationsRun: false }).initialize();
          try {
            await runMigrations(migrator);
          } finally {
            await migrator.destroy();
          }
        }
        return new DataSource({ ...options, migrationsRun: false }).initialize();
      },
    }),
  ],
  providers: [ReadReplicas],
  exports: [ReadReplicas],
})
export class DatabaseModule {}
