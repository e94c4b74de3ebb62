// TypeORM over the configured PostgreSQL; pending migrations are applied at start unless
// DB_MIGRATIONS_RUN=false.
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { LatchConfig } from '../config/configuration';
import { dataSourceOptions, runMigrations } from './data-source';

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
        const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
        if (options.migrationsRun) await runMigrations(dataSource);
        return dataSource;
      },
    }),
  ],
})
export class DatabaseModule {}
