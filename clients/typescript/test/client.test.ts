// The client's state machine, against a fake Latch and a mocked clock.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import {
  createLatchClient,
  memoryStorage,
  RefreshUnavailableError,
  type LatchClient,
  type LatchClientOptions,
  type SessionChange,
  type StorageAdapter,
} from '../src/index.js';
import { FakeLatch } from './fake-latch.js';

const T0 = Date.UTC(2026, 0, 1);
const CREDENTIALS = { email: 'ada@example.com', password: 'correct horse battery staple' };

describe('Latch client', () => {
  let latch: FakeLatch;
  const clients: LatchClient[] = [];
  const make = (options: Partial<LatchClientOptions> = {}) => {
    const client = createLatchClient({ baseUrl: latch.baseUrl, fetch: latch.fetch, autoRefresh: false, ...options });
    clients.push(client);
    return client;
  };
  const changes = (client: LatchClient) => {
    const seen: SessionChange[] = [];
    client.onSessionChange((change) => seen.push(change));
    return seen;
  };
  const expire = () => mock.timers.tick(latch.accessTtlSeconds * 1000 + 1);

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 });
    latch = new FakeLatch();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    mock.timers.reset();
  });

  it('signs in, keeps the session and attaches the bearer token to relative URLs', async () => {
    const client = make();
    const seen = changes(client);
    const { user } = (await client.login(CREDENTIALS)) as { user: { email: string } };
    assert.equal(user.email, CREDENTIALS.email);
    const session = client.getSession();
    assert.equal(session?.accessToken, 'access-1');
    assert.equal(session?.expiresAt, T0 + 60_000);
    const response = await client.fetch('/api/v1/users/me');
    assert.equal(response.status, 200);
    assert.deepEqual(latch.apiCalls, [{ path: '/api/v1/users/me', token: 'access-1' }]);
    assert.deepEqual(
      seen.map((c) => c.reason),
      ['signed-in'],
    );
  });

  it('makes typed calls to Latch through the same authentication', async () => {
    const client = make();
    await client.login(CREDENTIALS);
    const { data, response } = await client.api.GET('/api/v1/users/me');
    assert.equal(response.status, 200);
    assert.ok(data);
    assert.equal(latch.apiCalls[0]?.token, 'access-1');
  });

  it('refreshes once for any number of concurrent requests with an expired access token', async () => {
    const client = make();
    await client.login(CREDENTIALS);
    expire();
    const responses = await Promise.all(Array.from({ length: 50 }, () => client.fetch('/api/v1/things')));
    assert.ok(responses.every((r) => r.status === 200));
    assert.equal(latch.refreshCalls, 1);
    assert.ok(latch.apiCalls.every((call) => call.token === 'access-2'));
  });

  it('refreshes ahead of expiry, within the leeway', async () => {
    const client = make({ refreshLeewaySeconds: 10 });
    await client.login(CREDENTIALS);
    mock.timers.tick(49_000);
    await client.fetch('/api/v1/things');
    assert.equal(latch.refreshCalls, 0);
    mock.timers.tick(2_000); // 9 s left
    await client.fetch('/api/v1/things');
    assert.equal(latch.refreshCalls, 1);
    assert.deepEqual(
      latch.apiCalls.map((c) => c.token),
      ['access-1', 'access-2'],
    );
  });

  it('takes at most half the lifetime as leeway, so a short-lived token is not refreshed on every request', async () => {
    latch.accessTtlSeconds = 4;
    const client = make({ refreshLeewaySeconds: 30 });
    await client.login(CREDENTIALS);
    mock.timers.tick(1_000);
    await client.fetch('/api/v1/things');
    assert.equal(latch.refreshCalls, 0);
    mock.timers.tick(1_500);
    await client.fetch('/api/v1/things');
    assert.equal(latch.refreshCalls, 1);
  });

  it('refreshes once on a 401 invalid_token and retries the request once', async () => {
    const client = make();
    await client.login(CREDENTIALS);
    latch.revokeAccess();
    const responses = await Promise.all(Array.from({ length: 20 }, () => client.fetch('/api/v1/things')));
    assert.ok(responses.every((r) => r.status === 200));
    assert.equal(latch.refreshCalls, 1);
  });

  it('returns the second 401 instead of refreshing in a loop', async () => {
    const client = make();
    await client.login(CREDENTIALS);
    const original = latch.fetch;
    let protectedCalls = 0;
    const client2 = make({
      fetch: async (request) => {
        if (!request.url.includes('/auth/')) {
          protectedCalls++;
          return new Response('{"code":"UNAUTHORIZED"}', {
            status: 401,
            headers: { 'www-authenticate': 'Bearer realm="latch", error="invalid_token"' },
          });
        }
        return original(request);
      },
    });
    await client2.login(CREDENTIALS);
    const response = await client2.fetch('/api/v1/things', { method: 'POST', body: 'sent twice' });
    assert.equal(response.status, 401);
    assert.equal(protectedCalls, 2);
    assert.equal(latch.refreshCalls, 1);
  });

  it('sends the request body again on the retry', async () => {
    const bodies: string[] = [];
    let first = true;
    const client = make({
      fetch: async (request) => {
        if (request.url.endsWith('/api/v1/echo')) {
          bodies.push(await request.text());
          if (first) {
            first = false;
            return new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
          }
          return new Response(null, { status: 204 });
        }
        return latch.fetch(request);
      },
    });
    await client.login(CREDENTIALS);
    const response = await client.fetch('/api/v1/echo', { method: 'POST', body: '{"a":1}' });
    assert.equal(response.status, 204);
    assert.deepEqual(bodies, ['{"a":1}', '{"a":1}']);
  });

  it('ends a dead session: storage cleared, a session-end event with the reason', async () => {
    const storage = memoryStorage();
    const client = make({ storage });
    await client.login(CREDENTIALS);
    const seen = changes(client);
    latch.revokeAll(); // logged out elsewhere
    const response = await client.fetch('/api/v1/things');
    assert.equal(response.status, 401);
    assert.equal(client.getSession(), null);
    assert.equal(storage.getItem('latch.session'), null);
    assert.deepEqual(seen, [{ session: null, reason: 'invalid_refresh_token' }]);
    assert.equal(latch.refreshCalls, 1);
  });

  for (const fault of ['unavailable', 'network'] as const) {
    it(`keeps the session when the refresh fails (${fault}); the failing call rejects`, async () => {
      const client = make();
      await client.login(CREDENTIALS);
      const seen = changes(client);
      expire();
      latch.faults.push(fault);
      await assert.rejects(client.fetch('/api/v1/things'), RefreshUnavailableError);
      assert.equal(client.getSession()?.accessToken, 'access-1');
      assert.equal(seen.length, 0);
      const response = await client.fetch('/api/v1/things');
      assert.equal(response.status, 200);
      assert.equal(client.getSession()?.accessToken, 'access-2');
      assert.deepEqual(
        seen.map((c) => c.reason),
        ['refreshed'],
      );
    });
  }

  it('uses a still-valid token while the early refresh fails, and backs off', async () => {
    const client = make({ refreshLeewaySeconds: 10 });
    await client.login(CREDENTIALS);
    mock.timers.tick(55_000);
    latch.faults.push('unavailable');
    assert.equal((await client.fetch('/api/v1/things')).status, 200);
    assert.equal(latch.refreshCalls, 1);
    assert.equal((await client.fetch('/api/v1/things')).status, 200);
    assert.equal(latch.refreshCalls, 1, 'no second attempt within the back-off');
    mock.timers.tick(1_001);
    assert.equal((await client.fetch('/api/v1/things')).status, 200);
    assert.equal(latch.refreshCalls, 2);
    assert.equal(latch.apiCalls.at(-1)?.token, 'access-2');
  });

  it('refreshes in the background ahead of expiry, backing off when Latch is unavailable', async () => {
    const client = make({ autoRefresh: true, refreshLeewaySeconds: 10 });
    await client.login(CREDENTIALS);
    latch.faults.push('unavailable', 'network');
    mock.timers.tick(50_000);
    await settle();
    assert.equal(latch.refreshCalls, 1);
    mock.timers.tick(999);
    await settle();
    assert.equal(latch.refreshCalls, 1);
    mock.timers.tick(1);
    await settle();
    assert.equal(latch.refreshCalls, 2);
    mock.timers.tick(2_000);
    await settle();
    assert.equal(latch.refreshCalls, 3);
    assert.equal(client.getSession()?.accessToken, 'access-2');
  });

  it('refresh() shares the refresh under way', async () => {
    const client = make();
    await client.login(CREDENTIALS);
    let open!: () => void;
    latch.gate = new Promise((resolve) => (open = resolve));
    const a = client.refresh();
    const b = client.refresh();
    const c = client.fetch('/api/v1/things');
    open();
    const [sa, sb] = await Promise.all([a, b, c]);
    assert.equal(sa?.accessToken, 'access-2');
    assert.equal(sb?.accessToken, 'access-2');
    assert.equal(latch.refreshCalls, 1);
  });

  it('logs out: tells Latch, forgets the tokens and says so', async () => {
    const storage = memoryStorage();
    const client = make({ storage });
    await client.login(CREDENTIALS);
    const seen = changes(client);
    await client.logout();
    assert.equal(latch.logouts, 1);
    assert.equal(storage.getItem('latch.session'), null);
    assert.deepEqual(seen, [{ session: null, reason: 'logout' }]);
  });

  it('answers an MFA challenge with the challenge, then signs in with verifyMfa', async () => {
    latch.mfa = true;
    const client = make();
    const result = await client.login(CREDENTIALS);
    assert.deepEqual(result, { mfaRequired: true, mfaToken: 'mfa-1' });
    assert.equal(client.getSession(), null);
    await assert.rejects(client.verifyMfa('mfa-1', '000000'), { name: 'LatchError', code: 'INVALID_MFA_CODE' });
    const { user } = await client.verifyMfa('mfa-1', '123456');
    assert.equal(user.email, CREDENTIALS.email);
    assert.equal(client.getSession()?.accessToken, 'access-1');
  });

  it('reports a failed login with its status and code', async () => {
    const client = make({
      fetch: async () =>
        new Response('{"code":"INVALID_CREDENTIALS","detail":"Invalid e-mail or password."}', {
          status: 401,
          headers: { 'content-type': 'application/problem+json' },
        }),
    });
    await assert.rejects(client.login(CREDENTIALS), { name: 'LatchError', status: 401, code: 'INVALID_CREDENTIALS' });
  });

  describe('across tabs sharing localStorage', () => {
    let restore: () => void;
    beforeEach(() => {
      // Two "tabs" in one process: one shared localStorage and a Web Lock manager, as a browser has
      // (one queue per lock name; `ifAvailable` is granted null while the lock is held or asked for).
      const shared = memoryStorage() as StorageAdapter & Partial<Storage>;
      const queues = new Map<string, Promise<unknown>>();
      const locks = {
        request(name: string, ...args: unknown[]) {
          const work = args.at(-1) as (lock: { name: string } | null) => unknown;
          const { ifAvailable } = (args.length > 1 ? args[0] : {}) as { ifAvailable?: boolean };
          const previous = queues.get(name);
          if (ifAvailable && previous) return Promise.resolve(null).then(work);
          const grant = () => work({ name });
          const run = (previous ?? Promise.resolve()).then(grant, grant);
          const done = run.catch(() => undefined);
          queues.set(name, done);
          void done.then(() => queues.get(name) === done && queues.delete(name));
          return run;
        },
      };
      const g = globalThis as Record<string, unknown>;
      const before = {
        localStorage: g.localStorage,
        navigator: Object.getOwnPropertyDescriptor(globalThis, 'navigator'),
      };
      g.localStorage = shared;
      Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true, writable: true });
      restore = () => {
        g.localStorage = before.localStorage;
        if (before.navigator) Object.defineProperty(globalThis, 'navigator', before.navigator);
        else delete g.navigator;
      };
    });
    afterEach(() => restore());

    it('one refresh for two tabs; the tab that waited uses the pair the other obtained', async () => {
      const a = make({ storage: 'local' });
      const b = make({ storage: 'local' });
      await a.login(CREDENTIALS);
      assert.equal(b.getSession()?.accessToken, 'access-1');
      expire();
      let open!: () => void;
      latch.gate = new Promise((resolve) => (open = resolve));
      const burst = [a, b].flatMap((tab) => Array.from({ length: 10 }, () => tab.fetch('/api/v1/things')));
      await settle();
      open();
      const responses = await Promise.all(burst);
      assert.ok(responses.every((r) => r.status === 200));
      assert.equal(latch.refreshCalls, 1);
      assert.equal(a.getSession()?.accessToken, 'access-2');
      assert.equal(b.getSession()?.accessToken, 'access-2');
    });
  });
});

/** Lets pending promise callbacks run (the fake server answers without timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
}
