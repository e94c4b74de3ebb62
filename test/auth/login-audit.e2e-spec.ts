// A successful login's audit record is written by the statement that creates its session
// (docs/architecture.md, "Login"): the two commit together or not at all.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DomainEvent, LoginFailedEvent, LoginSucceededEvent } from '../../src/common/events/domain-events';
import { toAuditRecord } from '../../src/modules/audit/audit.listener';
import { AuthEventsRepository } from '../../src/modules/audit/auth-events.repository';
import { registerUser } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';

/** Makes inserts into `table` fail for rows carrying this user agent (and, for the audit, this type). */
async function failInserts(databaseUrl: string, table: string, userAgent: string): Promise<void> {
  await query(
    databaseUrl,
    `CREATE OR REPLACE FUNCTION test_refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'insert refused by the test'; END $$`,
  );
  const typeCheck = table === 'auth_events' ? ` AND NEW.type = '${DomainEvent.LoginSucceeded}'` : '';
  await query(
    databaseUrl,
    `CREATE TRIGGER test_refuse_${table} BEFORE INSERT ON ${table} FOR EACH ROW
       WHEN (NEW.user_agent = '${userAgent}'${typeCheck}) EXECUTE FUNCTION test_refuse_insert()`,
  );
}

describe('a login and its audit record', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { LOG_LEVEL: 'fatal' } });
    await failInserts(t.databaseUrl, 'auth_events', 'latch-test/audit-refused');
    await failInserts(t.databaseUrl, 'refresh_sessions', 'latch-test/session-refused');
  });
  after(() => t.close());

  const sessionsOf = async (userId: string) =>
    query(t.databaseUrl, `SELECT id FROM refresh_sessions WHERE user_id = $1`, [userId]);
  const loginRecordsOf = async (userId: string) =>
    query<{ session_id: string }>(
      t.databaseUrl,
      `SELECT session_id FROM auth_events WHERE user_id = $1 AND type = $2`,
      [userId, DomainEvent.LoginSucceeded],
    );

  it('creates no session, and answers no tokens, when the login cannot be recorded', async () => {
    const user = await registerUser(t.api);
    const res = await t.api.post(
      '/auth/login',
      { email: user.email, password: user.password },
      { headers: { 'user-agent': 'latch-test/audit-refused' } },
    );
    assert.ok(res.status >= 500, `answered ${res.status}`);
    assert.equal(res.body.accessToken, undefined);
    assert.deepEqual(await sessionsOf(user.id), []);
    assert.deepEqual(await loginRecordsOf(user.id), []);
  });

  it('leaves no "login succeeded" record when the session cannot be created', async () => {
    const user = await registerUser(t.api);
    const res = await t.api.post(
      '/auth/login',
      { email: user.email, password: user.password },
      { headers: { 'user-agent': 'latch-test/session-refused' } },
    );
    assert.ok(res.status >= 500, `answered ${res.status}`);
    assert.deepEqual(await loginRecordsOf(user.id), []);
  });

  it('writes the same row from the session statement as the audit listener would', async () => {
    const user = await registerUser(t.api);
    const client = { ip: '2001:db8::7', userAgent: 'latch-test/é' };
    const events = t.app.get(AuthEventsRepository);
    for (const event of [
      new LoginSucceededEvent(user.id, randomUUID(), client),
      new LoginFailedEvent(user.id, 'invalid_credentials', client, 'aGFzaA'), // with details (jsonb)
    ]) {
      await events.append(toAuditRecord(event));
      const part = events.insertStatement(toAuditRecord(event));
      await t.app.get(DataSource).query(part.sql(1), part.params);
      const rows = await query<Record<string, unknown>>(
        t.databaseUrl,
        `SELECT to_jsonb(e) - 'id' AS row FROM auth_events e WHERE user_id = $1 AND type = $2 ORDER BY id`,
        [user.id, event.name],
      );
      assert.equal(rows.length, 2);
      assert.deepEqual(rows[1], rows[0]);
    }
  });

  it('records a login that succeeds with the session it created, before answering', async () => {
    const user = await registerUser(t.api);
    const res = await t.api.post('/auth/login', { email: user.email, password: user.password });
    assert.equal(res.status, 200);
    const sessions = await sessionsOf(user.id);
    assert.equal(sessions.length, 1);
    assert.deepEqual(await loginRecordsOf(user.id), [{ session_id: sessions[0]!.id }]);
  });
});
