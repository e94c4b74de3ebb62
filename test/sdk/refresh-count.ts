// Counting refreshes where they happen, on the server: the audit trail has one `auth.token.refreshed`
// row per successful refresh (written after the response, so read with eventually()), and
// latch_refresh_attempts_total counts every POST /auth/refresh whatever its result.
import { sumSamples } from '../observability/log-capture';
import type { TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';

export async function refreshAttempts(t: TestApp): Promise<number> {
  const metrics = await t.root.get('/metrics');
  if (metrics.status !== 200) throw new Error(`/metrics answered ${metrics.status}`);
  return sumSamples(metrics.text, 'latch_refresh_attempts_total');
}

export async function auditedRefreshes(t: TestApp, userId: string): Promise<number> {
  const [row] = await query<{ count: string }>(
    t.databaseUrl,
    `SELECT count(*) FROM auth_events WHERE type = 'auth.token.refreshed' AND user_id = $1`,
    [userId],
  );
  return Number(row?.count ?? 0);
}
