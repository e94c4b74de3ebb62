// Day-based rotation of managed keys (JWT_KEY_ROTATION_DAYS): once the active key is old enough,
// the next key is created by one instance only (advisory lock), published at once and signing only
// after JWT_KEY_PUBLISH_AHEAD_SECONDS. Time passes by ageing the rows in the database; an instance
// checks at start and then every 30 s, so the test starts instances instead of waiting.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerAndLogin } from '../factories/users';
import { query } from '../utils/database';
import { createTestApp, TestApp } from '../utils/create-test-app';

const DAYS = 7;
const AHEAD = 600; // the default publish-ahead delay

interface KeyRow {
  kid: string;
  created_at: Date;
  activates_at: Date;
  revoked_at: Date | null;
}

function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;
}

describe('rotation every JWT_KEY_ROTATION_DAYS', () => {
  const env = { JWT_KEY_ROTATION_DAYS: String(DAYS), JWT_KEY_PUBLISH_AHEAD_SECONDS: String(AHEAD) };
  const started: TestApp[] = [];
  let first: TestApp;
  let firstKid: string;

  const keys = () => query<KeyRow>(first.databaseUrl, 'SELECT * FROM signing_keys ORDER BY activates_at');
  const age = (days: number) =>
    query(
      first.databaseUrl,
      `UPDATE signing_keys SET created_at = created_at - make_interval(days => $1),
                               activates_at = activates_at - make_interval(days => $1)`,
      [days],
    );
  const start = async () => {
    const t = await createTestApp({ databaseUrl: first.databaseUrl, env });
    started.push(t);
    return t;
  };
  const published = async (t: TestApp) =>
    (await t.root.get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid) as string[];

  before(async () => {
    first = await createTestApp({ env });
    firstKid = kidOf((await registerAndLogin(first.api)).accessToken);
  });
  after(async () => {
    for (const t of started.reverse()) await t.close();
    await first.close();
  });

  it('does not rotate a key younger than JWT_KEY_ROTATION_DAYS', async () => {
    await age(DAYS - 1);
    await start();
    assert.deepEqual(
      (await keys()).map((k) => k.kid),
      [firstKid],
    );
  });

  it('creates exactly one next key when instances start at once, published ahead, not signing yet', async () => {
    await age(2); // now DAYS + 1 old
    const [a, b] = await Promise.all([start(), start()]);
    const rows = await keys();
    assert.equal(rows.length, 2, `one new key, not one per instance: ${rows.map((k) => k.kid).join(', ')}`);
    const next = rows[1]!;
    assert.notEqual(next.kid, firstKid);
    assert.equal(next.revoked_at, null);
    const aheadSeconds = (next.activates_at.getTime() - next.created_at.getTime()) / 1000;
    assert.ok(aheadSeconds >= AHEAD - 1, `activates ${aheadSeconds} s after it was created`);

    for (const t of [a, b]) {
      assert.deepEqual((await published(t)).sort(), [firstKid, next.kid].sort(), 'both keys are in the JWKS');
      assert.equal(kidOf((await registerAndLogin(t.api)).accessToken), firstKid, 'the old key still signs');
    }
  });

  it('signs with the next key once its activation has passed, keeping the old one published', async () => {
    const [, next] = await keys();
    await query(
      first.databaseUrl,
      `UPDATE signing_keys SET activates_at = now() - interval '1 second' WHERE kid = $1`,
      [next!.kid],
    );
    const later = await start();
    assert.equal(kidOf((await registerAndLogin(later.api)).accessToken), next!.kid);
    assert.ok((await published(later)).includes(firstKid), 'tokens of the retired key still verify');
    assert.equal((await keys()).length, 2, 'no further key');
  });
});
