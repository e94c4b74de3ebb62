import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, login, registerAndLogin, registerUser } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { sample, sumSamples } from './log-capture';

describe('GET /metrics', () => {
  let t: TestApp;
  const scrape = async (): Promise<string> => {
    const res = await t.root.get('/metrics');
    assert.equal(res.status, 200);
    return res.text;
  };
  before(async () => {
    t = await createTestApp({ env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  });
  after(() => t.close());

  it('serves Prometheus text outside /api/v1 with process, event-loop and pool metrics', async () => {
    const res = await t.root.get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'latch_db_pool_connections{state="in_use"}',
      'latch_db_pool_connections{state="idle"}',
      'latch_db_pool_waiting_requests',
      'latch_bcrypt_queue_length',
      'latch_mail_outbox_messages{status="pending"}',
      'latch_mail_outbox_messages{status="failed"}',
    ]) {
      assert.match(res.text, new RegExp(`^${name.replace(/[{}]/g, '\\$&')} `, 'm'), `${name} is exported`);
    }
    assert.equal((await t.api.get('/metrics')).status, 404, 'not under the API prefix');
  });

  it('counts successful logins and invalid credentials by result', async () => {
    const user = await registerUser(t.api);
    const before = await scrape();
    await login(t.api, user);
    await login(t.api, user);
    const wrong = await t.api.post('/auth/login', { email: user.email, password: `${GOOD_PASSWORD}!` });
    assert.equal(wrong.status, 401);
    const unknown = await t.api.post('/auth/login', { email: 'nobody-here@example.com', password: GOOD_PASSWORD });
    assert.equal(unknown.status, 401);
    const oauth = await t.api.request('POST', '/auth/token', {
      form: { grant_type: 'password', username: user.email, password: 'not the password at all' },
    });
    assert.equal(oauth.status, 400);
    const after = await scrape();
    const delta = (result: string) =>
      sample(after, `latch_login_attempts_total{result="${result}"}`) -
      sample(before, `latch_login_attempts_total{result="${result}"}`);
    assert.equal(delta('success'), 2);
    assert.equal(delta('invalid_credentials'), 3);
  });

  it('counts bad input to the login endpoint as an invalid request, not as a failed password', async () => {
    const before = await scrape();
    const res = await t.api.post('/auth/login', { email: 'not-an-email' });
    assert.equal(res.status, 400);
    const after = await scrape();
    const delta = (result: string) =>
      sample(after, `latch_login_attempts_total{result="${result}"}`) -
      sample(before, `latch_login_attempts_total{result="${result}"}`);
    assert.equal(delta('invalid_request'), 1);
    assert.equal(delta('invalid_credentials'), 0);
  });

  it('counts refreshes, refresh-token reuse and registrations', async () => {
    const before = await scrape();
    const user = await registerAndLogin(t.api);
    const refreshed = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(refreshed.status, 200);
    // Past the zero-second grace window: any later request is, once the clock (ms) has moved on.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const reused = await t.api.post('/auth/refresh', { refreshToken: user.refreshToken });
    assert.equal(reused.status, 401);
    const unknown = await t.api.post('/auth/refresh', { refreshToken: 'x'.repeat(43) });
    assert.equal(unknown.status, 401);
    const taken = await t.api.post('/auth/register', { email: user.email, password: GOOD_PASSWORD });
    assert.equal(taken.status, 409);
    const after = await scrape();
    const delta = (series: string) => sample(after, series) - sample(before, series);
    assert.equal(delta('latch_refresh_attempts_total{result="success"}'), 1);
    assert.equal(delta('latch_refresh_attempts_total{result="reuse_detected"}'), 1);
    assert.equal(delta('latch_refresh_attempts_total{result="invalid_token"}'), 1);
    assert.equal(delta('latch_refresh_reuse_detected_total'), 1);
    assert.equal(delta('latch_registrations_total{result="success"}'), 1);
    assert.equal(delta('latch_registrations_total{result="conflict"}'), 1);
  });

  it('times bcrypt hashing and comparison', async () => {
    const before = await scrape();
    await registerAndLogin(t.api);
    const after = await scrape();
    const delta = (series: string) => sample(after, series) - sample(before, series);
    assert.equal(delta('latch_bcrypt_duration_seconds_count{operation="hash"}'), 1);
    assert.equal(delta('latch_bcrypt_duration_seconds_count{operation="compare"}'), 1);
    assert.ok(delta('latch_bcrypt_duration_seconds_sum{operation="compare"}') > 0);
  });

  it('counts state cache hits and misses', async () => {
    const user = await registerAndLogin(t.api);
    const before = await scrape();
    for (let i = 0; i < 3; i++) assert.equal((await t.api.get('/users/me', { token: user.accessToken })).status, 200);
    const after = await scrape();
    const delta = (result: string) =>
      sumSamples(after, 'latch_cache_requests_total', `result="${result}"`) -
      sumSamples(before, 'latch_cache_requests_total', `result="${result}"`);
    assert.ok(delta('hit') >= 2, 'repeated token checks are served from the cache');
    assert.ok(delta('hit') + delta('miss') >= 3);
  });

  it('records request durations by route template and status, and database query time', async () => {
    const before = await scrape();
    const user = await registerAndLogin(t.api);
    const me = await t.api.get('/users/me', { token: user.accessToken });
    assert.equal(me.status, 200);
    const after = await scrape();
    const delta = (series: string) => sample(after, series) - sample(before, series);
    assert.equal(
      delta('http_request_duration_seconds_count{method="POST",route="/api/v1/auth/login",status_code="200"}'),
      1,
    );
    assert.equal(
      delta('http_request_duration_seconds_count{method="GET",route="/api/v1/users/me",status_code="200"}'),
      1,
    );
    assert.ok(delta('latch_db_query_duration_seconds_count') > 0);
  });

  it('labels unknown paths as one "unmatched" route, so scanners cannot blow up the series count', async () => {
    const before = await scrape();
    for (const path of ['/wp-login.php', '/.env', `/x-${Date.now()}`]) {
      assert.equal((await t.root.get(path)).status, 404);
    }
    const after = await scrape();
    const series = 'http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"}';
    assert.equal(sample(after, series) - sample(before, series), 3);
    assert.doesNotMatch(after, /wp-login|\.env/);
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  let t: TestApp;
  const token = 'metrics-scraper-token-0123456789';
  before(async () => {
    t = await createTestApp({ env: { METRICS_TOKEN: token } });
  });
  after(() => t.close());

  it('refuses a scrape without the bearer token or with a wrong one', async () => {
    assert.equal((await t.root.get('/metrics')).status, 401);
    const wrong = await t.root.get('/metrics', { token: 'wrong' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'UNAUTHORIZED');
  });

  it('serves the metrics with the bearer token', async () => {
    const res = await t.root.get('/metrics', { token });
    assert.equal(res.status, 200);
    assert.match(res.text, /^# TYPE latch_login_attempts_total counter$/m);
  });
});

describe('GET /metrics with rate limits and e-mail verification on', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'true', EMAIL_VERIFICATION_REQUIRED: 'true' } });
  });
  after(() => t.close());

  it('counts a correct password on an unverified account by the reason the service gave', async () => {
    const user = await registerUser(t.api);
    const before = (await t.root.get('/metrics')).text;
    const res = await t.api.post('/auth/login', { email: user.email, password: user.password });
    assert.equal(res.status, 403);
    const after = (await t.root.get('/metrics')).text;
    const series = 'latch_login_attempts_total{result="email_not_verified"}';
    assert.equal(sample(after, series) - sample(before, series), 1);
    assert.equal(sumSamples(after, 'latch_login_attempts_total') - sumSamples(before, 'latch_login_attempts_total'), 1);
  });

  it('counts sign-ins refused by the per-account protection as locked, apart from wrong passwords', async () => {
    const user = await registerUser(t.api);
    const before = (await t.root.get('/metrics')).text;
    let refused = 0;
    let wrong = 0;
    for (let attempt = 0; attempt < 15 && refused === 0; attempt++) {
      const res = await t.api.post('/auth/login', { email: user.email, password: `${GOOD_PASSWORD} nope` });
      if (res.status === 429) refused++;
      else if (res.status === 401) wrong++;
      else assert.fail(`unexpected status ${res.status}`);
    }
    assert.equal(refused, 1, 'the limiter stepped in');
    const after = (await t.root.get('/metrics')).text;
    const delta = (result: string) =>
      sample(after, `latch_login_attempts_total{result="${result}"}`) -
      sample(before, `latch_login_attempts_total{result="${result}"}`);
    assert.equal(delta('invalid_credentials'), wrong);
    // Five failures stay under the per-address limit (10/min): the 429 is the account's wait.
    assert.equal(delta('locked'), 1);
    assert.equal(delta('rate_limited'), 0);
  });
});
