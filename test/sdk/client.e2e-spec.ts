// The client SDK (clients/typescript, built) against the real service: one refresh for a burst of
// requests, a session that survives an unavailable refresh, and one that ends when Latch ends it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerUser, TestUser } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { eventually } from '../utils/eventually';
import { auditedRefreshes, refreshAttempts } from './refresh-count';
import { importClient, sdkMissing } from './sdk';

const skip = sdkMissing('dist/index.js');

describe('client SDK against the running service', { skip }, () => {
  let t: TestApp;
  let sdk: any;
  before(async () => {
    // Short-lived access tokens, so the test can wait for one to expire. Three seconds rather than one:
    // the pair obtained by the refresh must outlive the burst of 100 requests on a loaded machine.
    t = await createTestApp({ env: { JWT_ACCESS_TTL: '3' } });
    sdk = await importClient('dist/index.js');
  });
  after(() => t?.close());

  const signIn = async (user: TestUser, options: Record<string, unknown> = {}) => {
    // No background refresh: the test decides when the access token is used after its expiry.
    const client = sdk.createLatchClient({ baseUrl: t.root.baseUrl, autoRefresh: false, ...options });
    await client.login({ email: user.email, password: user.password });
    return client;
  };
  const untilExpired = (client: any) =>
    eventually(() => Date.now() >= client.getSession().expiresAt, { what: 'the access token to expire' });

  it('sends 100 concurrent calls with an expired access token after exactly one refresh; all succeed', async () => {
    const user = await registerUser(t.api);
    const client = await signIn(user);
    const first = client.getSession().accessToken;
    await untilExpired(client);
    const before = await refreshAttempts(t);

    const responses = await Promise.all(Array.from({ length: 100 }, () => client.fetch('/api/v1/users/me')));
    const bodies: { email: string }[] = await Promise.all(
      responses.map((r: Response) => r.json() as Promise<{ email: string }>),
    );
    assert.deepEqual(
      responses.map((r: Response) => r.status),
      Array(100).fill(200),
    );
    assert.ok(bodies.every((body) => body.email === user.email));

    await eventually(async () => (await auditedRefreshes(t, user.id)) >= 1, { what: 'the refresh to be audited' });
    assert.equal(await auditedRefreshes(t, user.id), 1, 'one auth.token.refreshed event');
    assert.equal((await refreshAttempts(t)) - before, 1, 'one POST /auth/refresh');
    assert.notEqual(client.getSession().accessToken, first);
    client.close();
  });

  it('keeps the session when the refresh answers 503; the call rejects and the next one refreshes', async () => {
    const user = await registerUser(t.api);
    let unavailable = 1;
    const client = await signIn(user, {
      fetch: (request: Request) => {
        if (request.url.endsWith('/auth/refresh') && unavailable-- > 0) {
          return Promise.resolve(
            new Response(JSON.stringify({ status: 503, code: 'SERVICE_UNAVAILABLE' }), {
              status: 503,
              headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
            }),
          );
        }
        return fetch(request);
      },
    });
    const changes: unknown[] = [];
    client.onSessionChange((change: unknown) => changes.push(change));
    const first = client.getSession().accessToken;
    await untilExpired(client);

    await assert.rejects(client.fetch('/api/v1/users/me'), { name: 'RefreshUnavailableError' });
    assert.equal(client.getSession()?.accessToken, first, 'the session is kept');
    assert.deepEqual(changes, []);

    const response = await client.fetch('/api/v1/users/me');
    assert.equal(response.status, 200);
    assert.notEqual(client.getSession().accessToken, first);
    assert.deepEqual(
      changes.map((c: any) => c.reason),
      ['refreshed'],
    );
    client.close();
  });

  it('ends the session, with an event, when the user logs out everywhere from another client', async () => {
    const user = await registerUser(t.api);
    const client = await signIn(user, { refreshLeewaySeconds: 0 });
    const other = await signIn(user);
    const changes: any[] = [];
    client.onSessionChange((change: unknown) => changes.push(change));
    assert.equal((await client.fetch('/api/v1/users/me')).status, 200);

    assert.equal((await other.fetch('/api/v1/auth/logout-all', { method: 'POST' })).status, 204);

    const response = await client.fetch('/api/v1/users/me');
    assert.equal(response.status, 401);
    assert.equal(client.getSession(), null);
    assert.deepEqual(changes, [{ session: null, reason: 'invalid_refresh_token' }]);
    client.close();
    other.close();
  });
});
