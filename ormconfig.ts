// The data source for the TypeORM CLI (npm run migration:*), built from the same config as the app.
// It is compiled to .build/ormconfig.js; the CLI needs DATABASE_URL (the embedded PostgreSQL is
// started only by the app itself).
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/configuration';
import { migrationDataSourceOptions } from './src/database/data-source';

const config = loadConfig();
if (!config.database.url) {
  throw new Error('Set DATABASE_URL to use the migration commands.');
}

export default new DataSource({
  ...migrationDataSourceOptions(config.database, config.database.url),
  migrations: [join(__dirname, 'src', 'database', 'migrations', '*.js')],
});
