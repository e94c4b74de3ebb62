// Statements the service runs again and again are prepared once per connection (DB_PREPARED_STATEMENTS,
// src/database/bounded-client.ts), so PostgreSQL parses and plans a refresh's rotation once rather
// than on every refresh; with the switch off (a pooler that cannot carry them), nothing is prepared.
// One pooled connection per app, so the statements the requests ran are the session the check reads.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { registerAndLogin } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';

async function refreshChain(t: TestApp, times: number): Promise<void> {
  const first = (await registerAndLogin(t.api)).refreshToken;
  let refreshToken = first;
  for (let i = 0; i < times; i++) {
    const response = await t.api.post('/auth/refresh', { refreshToken });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.notEqual(response.body.refreshToken, refreshToken);
    refreshToken = response.body.refreshToken;
  }
  // A token replaced long ago is reuse: refused, and the session with it.
  assert.equal((await t.api.post('/auth/refresh', { refreshToken: first })).status, 401);
  assert.equal((await t.api.post('/auth/refresh', { refreshToken })).status, 401);
}

async function preparedStatements(t: TestApp): Promise<string[]> {
  const found: { statement: string }[] = await t.app
    .get(DataSource)
    .query(`SELECT statement FROM pg_prepared_statements WHERE name LIKE 'latch\\_%'`);
  return found.map((row) => row.statement);
}

// One app at a time: Passport's strategies are process-wide, so the app created last signs in for both.
describe('prepared statements', () => {
  describe('by default', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ env: { DB_POOL_MAX: '1' } });
    });
    after(() => t?.close());

    it('prepares a refresh rotation once it repeats, and refreshes still rotate', async () => {
      await refreshChain(t, 4);
      const statements = await preparedStatements(t);
      assert.ok(
        statements.some(
          (sql) => sql.includes('UPDATE refresh_sessions') && sql.includes('INSERT INTO refresh_token_history'),
        ),
        `the rotation is among the prepared statements: ${statements.length} found`,
      );
    });
  });

  describe('with DB_PREPARED_STATEMENTS=false', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ env: { DB_POOL_MAX: '1', DB_PREPARED_STATEMENTS: 'false' } });
    });
    after(() => t?.close());

    it('prepares nothing', async () => {
      await refreshChain(t, 4);
      assert.deepEqual(await preparedStatements(t), []);
    });
  });
});
