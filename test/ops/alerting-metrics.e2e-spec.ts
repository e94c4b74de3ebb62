// The metrics the alert rules (deploy/prometheus/latch.rules.yml) need beyond the request and
// outcome counters: pool size, readiness, bcrypt load shedding, token cleanup runs and the age of
// the oldest pending mail.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { TOKEN_CLEANUP_LOCK_KEY } from '../../src/modules/tokens/token-cleanup.repository';
import { TokenCleanupTask } from '../../src/modules/tokens/token-cleanup.task';
import { GOOD_PASSWORD, registerUser } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { eventually } from '../utils/eventually';
import { behindProxy } from '../utils/proxied-app';

const NEVER = '0 0 1 1 *'; // the test runs the cleanup itself

/** The value of one exported series; fails when the series is not exported at all. */
function sample(exposition: string, series: string): number {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  assert.ok(line, `${series} is exported`);
  return Number(line.slice(series.length + 1));
}

async function scrape(t: TestApp): Promise<string> {
  const res = await t.root.get('/metrics');
  assert.equal(res.status, 200);
  return res.text;
}

describe('metrics for alerting', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { DB_POOL_MAX: '7', TOKEN_CLEANUP_CRON: NEVER } });
  });
  after(() => t.close());

  it('exports the pool size next to its in-use connections', async () => {
    const text = await scrape(t);
    assert.equal(sample(text, 'latch_db_pool_max_connections'), 7);
    assert.ok(sample(text, 'latch_db_pool_connections{state="in_use"}') <= 7);
  });

  it('reports the instance ready while PostgreSQL answers', async () => {
    assert.equal(sample(await scrape(t), 'latch_ready'), 1);
  });

  it('counts token cleanup runs by result and stamps the last completed one', async () => {
    const task = t.app.get(TokenCleanupTask);
    const before = await scrape(t);
    assert.equal(sample(before, 'latch_token_cleanup_last_success_timestamp_seconds'), 0, 'no run yet');
    assert.equal(sample(before, 'latch_token_cleanup_runs_total{result="failed"}'), 0, 'exported before any run');

    const started = Date.now() / 1000;
    assert.ok(await task.tick());
    const ran = await scrape(t);
    assert.equal(sample(ran, 'latch_token_cleanup_runs_total{result="success"}'), 1);
    const stamp = sample(ran, 'latch_token_cleanup_last_success_timestamp_seconds');
    assert.ok(stamp >= Math.floor(started) && stamp <= Date.now() / 1000 + 1, `stamp ${stamp} is the run's time`);

    // Another instance holds the lock: this one skips, and its last success stays as it was.
    const holder = new Client({ connectionString: t.databaseUrl });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [TOKEN_CLEANUP_LOCK_KEY]);
      assert.equal(await task.tick(), null);
    } finally {
      await holder.end();
    }
    const skipped = await scrape(t);
    assert.equal(sample(skipped, 'latch_token_cleanup_runs_total{result="skipped"}'), 1);
    assert.equal(sample(skipped, 'latch_token_cleanup_last_success_timestamp_seconds'), stamp);
  });

  it('tells how long the oldest pending mail has waited, apart from failed mail', async () => {
    assert.equal(sample(await scrape(t), 'latch_mail_outbox_oldest_pending_age_seconds'), 0, 'nothing waits');
    // Not due for a day, so the dispatcher leaves them where they are.
    await query(
      t.databaseUrl,
      `INSERT INTO mail_outbox (template, recipient, status, created_at, next_attempt_at)
       VALUES ('verify-email', 'old@example.com', 'pending', now() - interval '10 minutes', now() + interval '1 day'),
              ('verify-email', 'new@example.com', 'pending', now() - interval '1 minute', now() + interval '1 day'),
              ('verify-email', 'gone@example.com', 'failed', now() - interval '2 hours', now() + interval '1 day')`,
    );
    const text = await scrape(t);
    const age = sample(text, 'latch_mail_outbox_oldest_pending_age_seconds');
    assert.ok(age >= 600 && age < 660, `oldest pending age ${age} s is the 10-minute-old message's`);
    assert.equal(sample(text, 'latch_mail_outbox_messages{status="pending"}'), 2);
    assert.equal(sample(text, 'latch_mail_outbox_messages{status="failed"}'), 1);
  });
});

describe('metrics for alerting: bcrypt load shedding', () => {
  let t: TestApp;
  before(async () => {
    // One bcrypt slot and no queue: concurrent sign-ins beyond the first are shed with 503.
    t = await createTestApp({
      env: { BCRYPT_ROUNDS: '10', BCRYPT_CONCURRENCY: '1', BCRYPT_QUEUE_MAX: '0', TOKEN_CLEANUP_CRON: NEVER },
    });
  });
  after(() => t.close());

  it('counts every password check answered 503 by the admission gate', async () => {
    const user = await registerUser(t.api);
    const before = sample(await scrape(t), 'latch_bcrypt_rejected_total');
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => t.api.post('/auth/login', { email: user.email, password: GOOD_PASSWORD })),
    );
    const shed = answers.filter((res) => res.status === 503).length;
    assert.ok(shed > 0, `some of ${answers.map((res) => res.status).join(' ')} were shed`);
    assert.equal(sample(await scrape(t), 'latch_bcrypt_rejected_total') - before, shed);
  });
});

describe('metrics for alerting: readiness with PostgreSQL cut', () => {
  const env = behindProxy();

  it('turns latch_ready to 0 while PostgreSQL does not answer, and back to 1 after, the scrape still answering', async () => {
    const { t, proxy } = env;
    assert.equal(sample(await scrape(t), 'latch_ready'), 1);
    proxy.cut();
    const started = Date.now();
    const text = await scrape(t);
    assert.ok(Date.now() - started < 5000, 'the scrape answers within 5 s');
    assert.equal(sample(text, 'latch_ready'), 0);
    proxy.restore();
    await eventually(
      async () => {
        return sample(await scrape(t), 'latch_ready') === 1;
      },
      { what: 'latch_ready back to 1 after PostgreSQL returned', timeoutMs: 15_000, intervalMs: 100 },
    );
  });
});
