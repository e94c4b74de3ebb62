// The entities are the schema's single description in code (src/database/sql.ts): after the
// migrations, every table has exactly one entity and every column matches its entity property
// (name = snake_case of the property, nullability).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { createDatabase, dropDatabase } from '../utils/database';

describe('database schema', () => {
  let database: { name: string; url: string };
  let dataSource: DataSource;

  before(async () => {
    database = await createDatabase();
    dataSource = await new DataSource(
      dataSourceOptions({ poolMax: 2 } as Parameters<typeof dataSourceOptions>[0], database.url),
    ).initialize();
    await runMigrations(dataSource);
  });
  after(async () => {
    await dataSource?.destroy();
    if (database) await dropDatabase(database.name);
  });

  it('has one entity per table, each column described by its entity', async () => {
    const columns: { table_name: string; column_name: string; is_nullable: 'YES' | 'NO' }[] = await dataSource.query(
      `SELECT table_name, column_name, is_nullable FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'migrations'`,
    );
    const inDatabase = new Map<string, string[]>();
    for (const c of columns) {
      inDatabase.set(c.table_name, [
        ...(inDatabase.get(c.table_name) ?? []),
        `${c.column_name}${c.is_nullable === 'YES' ? '?' : ''}`,
      ]);
    }
    const described = new Map<string, string[]>();
    for (const entity of dataSource.entityMetadatas) {
      described.set(
        entity.tableName,
        entity.columns.map((c) => {
          const snake = c.propertyName.replace(/[A-Z]/g, (l) => `_${l.toLowerCase()}`);
          assert.equal(c.databaseName, snake, `${entity.tableName}.${c.databaseName} is named after its property`);
          return `${c.databaseName}${c.isNullable ? '?' : ''}`;
        }),
      );
    }
    const sorted = (m: Map<string, string[]>) =>
      Object.fromEntries([...m.entries()].sort().map(([table, cols]) => [table, [...cols].sort()]));
    assert.deepEqual(sorted(described), sorted(inDatabase));
  });
});
