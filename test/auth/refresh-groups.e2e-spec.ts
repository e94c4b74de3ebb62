// Concurrent refreshes rotate in groups (src/database/statement-groups.ts): while rotations are at
// the database, the refreshes that arrive go together in one statement. Each must come out exactly
// as it would alone: its own session rotated once, its history and audit rows, the grace pair for a
// racing duplicate, a 401 for a revoked session; and the group must really be one statement.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { DomainEvent } from '../../src/common/events/domain-events';
import { LoggedIn, registerAndLogin } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';

const USERS = 40;

function sessionOf(accessToken: string): string {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')).sid;
}

/** Statements the app has run on its pool so far (its query-duration histogram's count). */
async function statementsRun(t: TestApp): Promise<number> {
  const text = (await t.root.get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith('latch_db_query_duration_seconds_count'));
  assert.ok(line, 'the query-duration histogram is exported');
  return Number(line.split(' ').pop());
}

describe('concurrent refreshes, grouped', () => {
  let t: TestApp;
  let users: LoggedIn[];

  before(async () => {
    t = await createTestApp({ env: { REFRESH_REUSE_GRACE_SECONDS: '5', TOKEN_CLEANUP_CRON: '0 0 1 1 *' } });
    const signedIn: LoggedIn[] = [];
    for (let i = 0; i < USERS; i++) signedIn.push(await registerAndLogin(t.api));
    // Nothing else at the database during the burst: the verification mails are out and the
    // sign-ins stamped (a stamp also drops the user from the state cache).
    await eventually(
      async () =>
        (
          await query(
            t.databaseUrl,
            `SELECT 1 FROM mail_outbox WHERE status = 'pending'
             UNION ALL SELECT 1 FROM users WHERE last_login_at IS NULL`,
          )
        ).length === 0,
      { what: 'the outbox to drain and the sign-ins to be stamped', timeoutMs: 10_000 },
    );
    // One refresh alone first, as any refresh after a session's first finds its user in the state cache.
    users = [];
    for (const user of signedIn) {
      const refreshed = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
      assert.equal(refreshed.status, 200);
      users.push({ ...user, ...refreshed.body });
    }
  });
  after(() => t?.close());

  it('rotates each session once, as alone, in far fewer statements than refreshes', async () => {
    const [revoked, ...live] = users;
    assert.equal((await t.api.post('/auth/logout', undefined, { token: revoked!.accessToken })).status, 204);
    const raced = live[0]!;

    // Two refreshes go first and wait at the database on their sessions' rows, which the test holds
    // locked: the rotation slots are busy, so every refresh that comes meanwhile waits for them.
    const blockers = live.slice(-2);
    const lock = new Client({ connectionString: t.databaseUrl });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('SELECT 1 FROM refresh_sessions WHERE id = ANY($1::uuid[]) FOR UPDATE', [
      blockers.map((user) => sessionOf(user.accessToken)),
    ]);

    const scrape = (await statementsRun(t)) - (await statementsRun(t)); // what a scrape itself runs (≤ 0)
    const before = await statementsRun(t);
    let received = 0;
    const count = (): void => void (received += 1);
    t.app.getHttpServer().on('request', count);
    const first = blockers.map((user) => t.api.post('/auth/refresh', { refreshToken: user.refreshToken }));
    await eventually(
      async () =>
        (
          await query(
            t.databaseUrl,
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        ).length === 2,
      { what: 'both rotations to wait on the held rows' },
    );
    const rest = [raced, revoked!, ...live.slice(0, -2)].map((user) =>
      t.api.post('/auth/refresh', { refreshToken: user.refreshToken }),
    );
    await eventually(() => received === 2 + rest.length, { what: 'every refresh to reach the server' });
    t.app.getHttpServer().off('request', count);
    await lock.query('COMMIT');
    await lock.end();
    const [again, gone, ...answers] = await Promise.all([...rest, ...first]);
    const ran = (await statementsRun(t)) - before + scrape;

    for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(gone!.status, 401, 'a revoked session does not rotate in a group either');
    assert.equal(again!.status, 200);
    assert.equal(again!.body.refreshToken, answers[0]!.body.refreshToken, 'the racing duplicate gets the same pair');
    assert.equal(new Set(answers.map((a) => a.body.refreshToken)).size, live.length, 'every session its own pair');
    answers.forEach((answer, i) =>
      assert.equal(sessionOf(answer.body.accessToken), sessionOf(live[i]!.accessToken), 'each pair for its session'),
    );
    // Alone, each of the 39 rotations is a statement of its own, and the duplicate and the revoked
    // token add their lookups; grouped, two go alone and the rest wait and go together.
    assert.ok(ran < live.length / 2, `${ran} statements for ${live.length + 2} refreshes`);

    // Each rotation (the one alone, the one in the group) left one history row and one audit row,
    // and the new pairs work.
    for (const [i, user] of live.entries()) {
      const sessionId = sessionOf(user.accessToken);
      const [history] = await query<{ count: number }>(
        t.databaseUrl,
        `SELECT count(*)::int AS count FROM refresh_token_history WHERE session_id = $1`,
        [sessionId],
      );
      assert.equal(history!.count, 2, `one history row per rotation of session ${i}`);
      const [audited] = await query<{ count: number }>(
        t.databaseUrl,
        `SELECT count(*)::int AS count FROM auth_events WHERE session_id = $1 AND type = $2`,
        [sessionId, DomainEvent.TokenRefreshed],
      );
      assert.equal(audited!.count, 2, `one audit row per rotation of session ${i}`);
      const kinds = await query(
        t.databaseUrl,
        `SELECT DISTINCT user_id, outcome, reason, ip, user_agent, details FROM auth_events
          WHERE session_id = $1 AND type = $2`,
        [sessionId, DomainEvent.TokenRefreshed],
      );
      assert.equal(kinds.length, 1, `the grouped audit row is the one a refresh alone writes (session ${i})`);
      const next = await t.api.post('/auth/refresh', { refreshToken: answers[i]!.body.refreshToken });
      assert.equal(next.status, 200);
    }
  });
});
