import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { TOKEN_CLEANUP_LOCK_KEY } from '../../src/modules/tokens/token-cleanup.repository';
import { CleanupReport, TokenCleanupService } from '../../src/modules/tokens/token-cleanup.service';
import { login, registerUser } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { createDatabase, dropDatabase, query } from '../utils/database';
import { eventually } from '../utils/eventually';

const NEVER = '0 0 1 1 *';
const EVERY_SECOND = '* * * * * *';

interface Seeded {
  keep: { sessions: string[]; tokens: string[]; mail: string[]; apiKeys: string[] };
  drop: { sessions: string[]; tokens: string[]; mail: string[]; apiKeys: string[] };
  graceCleared: string;
  graceKept: string;
  expiredBulk: number;
  mailTable: boolean;
}

/** Records the outcome of every cleanup run of one instance (null: another instance held the lock). */
function recordRuns(service: TokenCleanupService): (CleanupReport | null)[] {
  const runs: (CleanupReport | null)[] = [];
  const run = service.run.bind(service);
  service.run = async () => {
    const report = await run();
    runs.push(report);
    return report;
  };
  return runs;
}

/**
 * One row per case the cleanup must decide, plus a bulk of expired sessions and of API keys expired
 * past the retention (several batches each).
 */
async function seed(url: string, userId: string, bulk = 0): Promise<Seeded> {
  const session = async (expires: string, revoked: string | null, extra = ''): Promise<string> => {
    const rows = await query<{ id: string }>(
      url,
      `INSERT INTO refresh_sessions (user_id, token_hash, expires_at, revoked_at ${extra ? ', rotated_at, grace_ciphertext' : ''})
       VALUES ($1, gen_random_bytes(32), now() + $2::interval, now() + $3::interval ${extra})
       RETURNING id`,
      [userId, expires, revoked],
    );
    return rows[0].id;
  };
  const history = (sessionId: string) =>
    query(url, `INSERT INTO refresh_token_history (token_hash, session_id) VALUES (gen_random_bytes(32), $1)`, [
      sessionId,
    ]);
  const token = async (expires: string, used: boolean): Promise<string> => {
    const rows = await query<{ id: string }>(
      url,
      `INSERT INTO one_time_tokens (user_id, purpose, token_hash, expires_at, used_at)
       VALUES ($1, 'password_reset', gen_random_bytes(32), now() + $2::interval, CASE WHEN $3 THEN now() END)
       RETURNING id`,
      [userId, expires, used],
    );
    return rows[0].id;
  };

  const live = await session('1 day', null);
  await history(live);
  const expired = await session('-1 hour', null);
  const revokedRecently = await session('1 day', '-1 day');
  await history(revokedRecently);
  const revokedLongAgo = await session('1 day', '-8 days');
  await history(revokedLongAgo);
  const expiredButRevokedRecently = await session('-2 days', '-1 day');
  const graceCleared = await session('1 day', null, `, now() - interval '1 minute', '\\x01'::bytea`);
  const graceKept = await session('1 day', null, `, now(), '\\x02'::bytea`);
  if (bulk > 0) {
    await query(
      url,
      `INSERT INTO refresh_sessions (user_id, token_hash, expires_at)
       SELECT $1, gen_random_bytes(32), now() - interval '1 minute' FROM generate_series(1, $2)`,
      [userId, bulk],
    );
  }

  // API keys: no expiry, not yet expired, expired inside the 7-day retention (still listed), and past it.
  const apiKey = async (expires: string | null): Promise<string> => {
    const rows = await query<{ id: string }>(
      url,
      `INSERT INTO api_keys (user_id, name, prefix, key_hash, expires_at)
       VALUES ($1, 'seeded', 'latch_seeded', encode(gen_random_bytes(32), 'hex'), now() + $2::interval)
       RETURNING id`,
      [userId, expires],
    );
    return rows[0].id;
  };
  const keyWithoutExpiry = await apiKey(null);
  const keyExpiringLater = await apiKey('1 day');
  const keyExpiredRecently = await apiKey('-6 days');
  const keyExpiredLongAgo = await apiKey('-8 days');
  // The audit trail names keys by id only (no foreign key): the record of a removed key stays.
  await query(
    url,
    `INSERT INTO auth_events (type, outcome, user_id, occurred_at, details)
     VALUES ('auth.api_key.created', 'success', $1, now() - interval '20 days', jsonb_build_object('apiKeyId', $2::text))`,
    [userId, keyExpiredLongAgo],
  );
  if (bulk > 0) {
    await query(
      url,
      `INSERT INTO api_keys (user_id, name, prefix, key_hash, expires_at)
       SELECT $1, 'bulk', 'latch_bulk', encode(gen_random_bytes(32), 'hex'), now() - interval '8 days'
         FROM generate_series(1, $2)`,
      [userId, bulk],
    );
  }

  const liveToken = await token('30 minutes', false);
  const usedToken = await token('30 minutes', true);
  const expiredToken = await token('-1 minute', false);

  const mailTable = (
    await query<{ present: boolean }>(url, `SELECT to_regclass('mail_outbox') IS NOT NULL AS present`)
  )[0].present;
  const mail = { keep: [] as string[], drop: [] as string[] };
  if (mailTable) {
    const message = async (status: string, age: string): Promise<string> => {
      const rows = await query<{ id: string }>(
        url,
        `INSERT INTO mail_outbox (template, recipient, status, created_at, sent_at)
         VALUES ('verify-email', 'someone@example.com', $1::varchar, now() - $2::interval,
                 CASE WHEN $1::varchar = 'sent' THEN now() - $2::interval END)
         RETURNING id`,
        [status, age],
      );
      return rows[0].id;
    };
    // The mail module's SENT_RETENTION_DAYS is 30.
    mail.drop.push(await message('sent', '31 days'));
    mail.keep.push(
      await message('sent', '29 days'),
      await message('pending', '31 days'),
      await message('failed', '31 days'),
    );
  }

  return {
    keep: {
      sessions: [live, revokedRecently, expiredButRevokedRecently, graceCleared, graceKept],
      tokens: [liveToken],
      mail: mail.keep,
      apiKeys: [keyWithoutExpiry, keyExpiringLater, keyExpiredRecently],
    },
    drop: {
      sessions: [expired, revokedLongAgo],
      tokens: [usedToken, expiredToken],
      mail: mail.drop,
      apiKeys: [keyExpiredLongAgo],
    },
    graceCleared,
    graceKept,
    expiredBulk: bulk,
    mailTable,
  };
}

async function assertCleaned(url: string, userId: string, seeded: Seeded): Promise<void> {
  const sessions = (
    await query<{ id: string }>(url, `SELECT id FROM refresh_sessions WHERE user_id = $1`, [userId])
  ).map((r) => r.id);
  assert.deepEqual(sessions.sort(), [...seeded.keep.sessions].sort());
  const history = await query<{ session_id: string }>(
    url,
    `SELECT h.session_id FROM refresh_token_history h JOIN refresh_sessions s ON s.id = h.session_id
      WHERE s.user_id = $1`,
    [userId],
  );
  assert.deepEqual(
    history.map((r) => r.session_id).sort(),
    [seeded.keep.sessions[0], seeded.keep.sessions[1]].sort(),
    'history stays with retained sessions and goes with removed ones',
  );
  const grace = await query<{ id: string; sealed: boolean }>(
    url,
    `SELECT id, grace_ciphertext IS NOT NULL AS sealed FROM refresh_sessions WHERE id = ANY($1::uuid[])`,
    [[seeded.graceCleared, seeded.graceKept]],
  );
  assert.deepEqual(Object.fromEntries(grace.map((r) => [r.id, r.sealed])), {
    [seeded.graceCleared]: false,
    [seeded.graceKept]: true,
  });
  // Only the seeded tokens are judged: registration queues a (live) verification token of its own.
  const seededTokens = [...seeded.keep.tokens, ...seeded.drop.tokens];
  const tokens = (
    await query<{ id: string }>(url, `SELECT id FROM one_time_tokens WHERE id = ANY($1::uuid[])`, [seededTokens])
  ).map((r) => r.id);
  assert.deepEqual(tokens, seeded.keep.tokens);
  const apiKeys = (await query<{ id: string }>(url, `SELECT id FROM api_keys WHERE user_id = $1`, [userId])).map(
    (r) => r.id,
  );
  assert.deepEqual(apiKeys.sort(), [...seeded.keep.apiKeys].sort());
  const audit = await query<{ count: number }>(
    url,
    `SELECT count(*)::int AS count FROM auth_events WHERE details->>'apiKeyId' = $1`,
    [seeded.drop.apiKeys[0]],
  );
  assert.equal(audit[0].count, 1, "a removed key's audit record stays");
  if (seeded.mailTable) {
    const seededMail = [...seeded.keep.mail, ...seeded.drop.mail];
    const mail = (
      await query<{ id: string }>(url, `SELECT id FROM mail_outbox WHERE id = ANY($1::uuid[])`, [seededMail])
    ).map((r) => r.id);
    assert.deepEqual(mail.sort(), [...seeded.keep.mail].sort());
  }
}

function expectedReport(seeded: Seeded): Omit<CleanupReport, 'durationMs'> {
  return {
    expiredSessions: 1 + seeded.expiredBulk,
    revokedSessions: 1,
    graceCiphertexts: 1,
    oneTimeTokens: 2,
    expiredApiKeys: 1 + seeded.expiredBulk,
    sentMail: seeded.drop.mail.length,
  };
}

describe('token cleanup', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ env: { TOKEN_CLEANUP_CRON: NEVER, REVOKED_TOKEN_RETENTION_DAYS: '7' } });
  });
  after(() => t?.close());

  it('removes exactly what no one needs, in batches, and keeps what reuse detection needs', async () => {
    const user = await registerUser(t.api);
    const seeded = await seed(t.databaseUrl, user.id, 1201);
    const report = await t.app.get(TokenCleanupService).run();
    assert.ok(report, 'the run took the lock');
    const { durationMs: _ignored, ...counts } = report;
    assert.deepEqual(counts, expectedReport(seeded));
    await assertCleaned(t.databaseUrl, user.id, seeded);

    const again = await t.app.get(TokenCleanupService).run();
    assert.deepEqual(
      { ...again, durationMs: 0 },
      {
        expiredSessions: 0,
        revokedSessions: 0,
        graceCiphertexts: 0,
        oneTimeTokens: 0,
        expiredApiKeys: 0,
        sentMail: 0,
        durationMs: 0,
      },
    );

    // A key expired inside the retention is still in its owner's list; one past it is gone.
    const owner = await login(t.api, user);
    const listed = await t.api.get('/api-keys', { token: owner.accessToken });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.map((k: { id: string }) => k.id).sort(), [...seeded.keep.apiKeys].sort());
  });

  it('skips, touching nothing, while another holder has the cleanup lock', async () => {
    const holder = new Client({ connectionString: t.databaseUrl });
    await holder.connect();
    try {
      const user = await registerUser(t.api);
      await seed(t.databaseUrl, user.id);
      await holder.query('SELECT pg_advisory_lock($1)', [TOKEN_CLEANUP_LOCK_KEY]);
      assert.equal(await t.app.get(TokenCleanupService).run(), null);
      const left = await query<{ count: number }>(
        t.databaseUrl,
        `SELECT count(*)::int AS count FROM refresh_sessions WHERE user_id = $1`,
        [user.id],
      );
      assert.equal(left[0].count, 7);
      const keys = await query<{ count: number }>(
        t.databaseUrl,
        `SELECT count(*)::int AS count FROM api_keys WHERE user_id = $1`,
        [user.id],
      );
      assert.equal(keys[0].count, 4);
      await holder.query('SELECT pg_advisory_unlock($1)', [TOKEN_CLEANUP_LOCK_KEY]);
      assert.ok(await t.app.get(TokenCleanupService).run());
    } finally {
      await holder.end();
    }
  });

  it('runs once by hand with npm run tokens:cleanup (the compiled CLI)', async () => {
    const user = await registerUser(t.api);
    const seeded = await seed(t.databaseUrl, user.id);
    const cli = join(__dirname, '../../src/modules/tokens/cleanup.cli.js');
    const run = spawnSync(process.execPath, [cli], {
      env: { PATH: process.env.PATH, DATABASE_URL: t.databaseUrl, NODE_ENV: 'test', REVOKED_TOKEN_RETENTION_DAYS: '7' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.match(run.stdout + run.stderr, /Removed 1 expired and 1 revoked sessions/);
    assert.match(run.stdout + run.stderr, /, 1 expired API keys,/);
    await assertCleaned(t.databaseUrl, user.id, seeded);
  });
});

describe('token cleanup on two instances started at once', () => {
  let database: { name: string; url: string };
  let a: TestApp;
  let b: TestApp;

  before(async () => {
    database = await createDatabase();
    const env = { TOKEN_CLEANUP_CRON: EVERY_SECOND, REVOKED_TOKEN_RETENTION_DAYS: '7' };
    [a, b] = await Promise.all([
      createTestApp({ databaseUrl: database.url, env }),
      createTestApp({ databaseUrl: database.url, env }),
    ]);
  });

  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    if (database) await dropDatabase(database.name);
  });

  it('never runs on both at once: while the lock is held both skip, then one pass removes each row once', async () => {
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [TOKEN_CLEANUP_LOCK_KEY]);
      const user = await registerUser(a.api);
      const seeded = await seed(database.url, user.id, 600);
      const histories = [recordRuns(a.app.get(TokenCleanupService)), recordRuns(b.app.get(TokenCleanupService))];
      const mark = histories.map((history) => history.length);
      await eventually(() => histories.every((history, i) => history.length > mark[i]), {
        what: 'both instances to tick (and skip)',
      });
      for (const [i, history] of histories.entries()) assert.ok(history.slice(mark[i]).every((run) => run === null));

      const start = histories.map((history) => history.length);
      await holder.query('SELECT pg_advisory_unlock($1)', [TOKEN_CLEANUP_LOCK_KEY]);
      await eventually(
        async () => {
          const rows = await query<{ count: number }>(
            database.url,
            `SELECT count(*)::int AS count FROM refresh_sessions WHERE expires_at < now() AND revoked_at IS NULL`,
          );
          return rows[0].count === 0;
        },
        { what: 'the expired rows to be gone', timeoutMs: 10_000 },
      );
      // The run that removed them may still be at work on the other kinds of rows. A run is recorded
      // when it ends, and a tick while one runs is skipped: once each instance has recorded a run
      // that ended after this point, no run that was under way here is still going.
      const gone = histories.map((history) => history.length);
      await eventually(() => histories.every((history, i) => history.length > gone[i]), {
        what: 'each instance to record a run ended after the expired rows were gone',
      });
      await assertCleaned(database.url, user.id, seeded);
      // Every row was removed by exactly one run on one instance.
      const runs = histories
        .flatMap((history, i) => history.slice(start[i]))
        .filter((r): r is CleanupReport => r !== null);
      const total = (key: keyof CleanupReport) => runs.reduce((sum, run) => sum + run[key], 0);
      const expected = expectedReport(seeded);
      for (const key of Object.keys(expected) as (keyof typeof expected)[])
        assert.equal(total(key), expected[key], key);
    } finally {
      await holder.end();
    }
  });
});
