// The client SDK's browser bundle in headless Chromium: two tabs of one browser sharing the session
// fire requests at the moment the access token expires. The server must see one refresh, and both
// tabs must go on with the new pair, also when one tab hears of the other's refresh late.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registerUser, TestUser } from '../factories/users';
import { browserMissing, launchChromium } from '../utils/browser';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { eventually } from '../utils/eventually';
import { auditedRefreshes, refreshAttempts } from './refresh-count';
import { CLIENT_DIR, sdkMissing } from './sdk';

const BUNDLE = 'dist/latch-client.browser.js';

const skip = browserMissing ?? sdkMissing(BUNDLE);

// The page only loads the bundle; the test drives it through page.evaluate.
const PAGE = `<!doctype html><meta charset="utf-8"><title>Latch client</title>
<script type="module">
  import { createLatchClient } from '/latch-client.browser.js';
  window.createLatchClient = createLatchClient;
  document.title = 'ready';
</script>`;

/** A static server on its own origin: the page and the client's browser bundle. */
function serveStatic(): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else if (request.url === '/latch-client.browser.js') {
      response
        .writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
        .end(readFileSync(join(CLIENT_DIR, BUNDLE)));
    } else {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * Runs in a tab, before its client is created: from then on the tab hears of the other tabs' writes to
 * localStorage, and of their broadcasts, `ms` late (its own writes it sees at once). Chromium delivers
 * both to a tab on other paths than a Web Lock's grant; here that delivery is merely slow.
 */
function hearOtherTabsLate(ms: number): void {
  const w = globalThis as any;
  const shared = w.localStorage;
  const view = new Map<string, string>();
  for (let i = 0; i < shared.length; i++) view.set(shared.key(i), shared.getItem(shared.key(i)));
  w.addEventListener('storage', (event: any) => {
    if (event.storageArea !== shared || event.key === null) return;
    const { key, newValue } = event;
    setTimeout(() => (newValue === null ? view.delete(key) : view.set(key, newValue)), ms);
  });
  const lagging = {
    getItem: (key: string) => view.get(key) ?? null,
    setItem: (key: string, value: string) => {
      view.set(key, value);
      shared.setItem(key, value);
    },
    removeItem: (key: string) => {
      view.delete(key);
      shared.removeItem(key);
    },
  };
  Object.defineProperty(w, 'localStorage', { value: lagging, configurable: true });
  w.BroadcastChannel = class extends w.BroadcastChannel {
    set onmessage(handler: any) {
      super.onmessage = handler && ((event: unknown) => setTimeout(() => handler.call(this, event), ms));
    }
  };
}

describe('client SDK in a real browser', { skip }, () => {
  let t: TestApp;
  let site: Server;
  let origin: string;
  let browser: any;

  before(async () => {
    site = await serveStatic();
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    t = await createTestApp({ env: { CORS_ORIGINS: origin, JWT_ACCESS_TTL: '3' } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    site?.close();
  });

  /** Two tabs of one new browser context, each with the client's bundle loaded. */
  const openTabs = async () => {
    const context = await browser.newContext();
    const tabs = [await context.newPage(), await context.newPage()];
    for (const tab of tabs) {
      await tab.goto(`${origin}/`);
      await tab.waitForFunction("document.title === 'ready'");
    }
    return { context, tabs };
  };

  /**
   * Creates the tab's client, with no background and no early refresh: the requests themselves meet
   * the expired token. `slowRefreshMs` holds the tab's POST /auth/refresh back that long.
   */
  const setUp = (tab: any, options: { storage: 'local' | 'session'; slowRefreshMs?: number }) =>
    tab.evaluate(
      ({ baseUrl, storage, slowRefreshMs }: { baseUrl: string; storage: string; slowRefreshMs: number }) => {
        const w = globalThis as any;
        const slowFetch = async (request: any) => {
          if (request.url.endsWith('/auth/refresh')) await new Promise((resolve) => setTimeout(resolve, slowRefreshMs));
          return fetch(request);
        };
        w.client = w.createLatchClient({
          baseUrl,
          storage,
          autoRefresh: false,
          refreshLeewaySeconds: 0,
          fetch: slowRefreshMs > 0 ? slowFetch : undefined,
        });
        w.changes = [];
        w.client.onSessionChange((change: { reason: string }) => w.changes.push(change.reason));
      },
      { baseUrl: t.root.baseUrl, storage: options.storage, slowRefreshMs: options.slowRefreshMs ?? 0 },
    );

  const signIn = (tab: any, user: TestUser) =>
    tab.evaluate((credentials: { email: string; password: string }) => (globalThis as any).client.login(credentials), {
      email: user.email,
      password: user.password,
    });

  const session = (tab: any): Promise<{ accessToken: string; expiresAt: number } | null> =>
    tab.evaluate(() => (globalThis as any).client.getSession());

  /** One request per tab after the burst: both go on with the new pair, nobody was signed out. */
  const assertBothKeepTheSession = async (tabs: any[]) => {
    for (const tab of tabs) {
      const after = await tab.evaluate(async () => {
        const w = globalThis as any;
        const response = await w.client.fetch('/api/v1/users/me');
        return { status: response.status, session: w.client.getSession() !== null, changes: w.changes };
      });
      assert.equal(after.status, 200);
      assert.equal(after.session, true);
      assert.ok(
        after.changes.every((reason: string) => reason === 'signed-in' || reason === 'refreshed'),
        `no session end: ${after.changes}`,
      );
    }
  };

  it('two tabs firing 20 requests each as the access token expires cause one refresh; both keep the session', async () => {
    const user = await registerUser(t.api);
    const { context, tabs } = await openTabs();
    await setUp(tabs[0], { storage: 'local' });
    await signIn(tabs[0], user);
    await setUp(tabs[1], { storage: 'local' });
    const first = (await session(tabs[1]))?.accessToken;
    assert.ok(first, 'the second tab sees the session of the first');
    const { expiresAt } = (await session(tabs[0]))!;
    const before = await refreshAttempts(t);

    const burst = (tab: any) =>
      tab.evaluate(async (at: number) => {
        const client = (globalThis as any).client;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
        const responses = await Promise.all(
          Array.from({ length: 20 }, () => client.fetch('/api/v1/users/me').then((r: Response) => r.status)),
        );
        return { statuses: responses, token: client.getSession()?.accessToken };
      }, expiresAt);
    const results = await Promise.all(tabs.map(burst));

    for (const [i, result] of results.entries()) {
      assert.deepEqual(result.statuses, Array(20).fill(200), `tab ${i + 1}: every request succeeds`);
      assert.ok(result.token && result.token !== first, `tab ${i + 1}: holds the new access token`);
    }
    assert.equal(results[0].token, results[1].token, 'both tabs hold the same pair');
    await eventually(async () => (await auditedRefreshes(t, user.id)) >= 1, { what: 'the refresh to be audited' });
    assert.equal(await auditedRefreshes(t, user.id), 1, 'one auth.token.refreshed event');
    assert.equal((await refreshAttempts(t)) - before, 1, 'one POST /auth/refresh');

    await assertBothKeepTheSession(tabs);
    assert.equal((await refreshAttempts(t)) - before, 1, 'still one refresh');
    await context.close();
  });

  // The second tab is granted the lock (or takes it, free) while what the first stored and broadcast
  // has not reached it yet: it must not present the refresh token the first one just spent.
  for (const storage of ['local', 'session'] as const) {
    for (const when of ['while the other refreshes', 'just after the other refreshed'] as const) {
      it(`a tab that hears late of the other's refresh, asking ${when}, uses its pair (${storage}Storage)`, async () => {
        const user = await registerUser(t.api);
        const { context, tabs } = await openTabs();
        const [first, late] = tabs;
        const during = when === 'while the other refreshes';
        await setUp(first, { storage, slowRefreshMs: during ? 500 : 0 });
        await signIn(first, user);
        if (storage === 'session') {
          // A duplicated tab starts with a copy of the original's sessionStorage.
          const copy = await first.evaluate(() => (globalThis as any).sessionStorage.getItem('latch.session'));
          await late.evaluate(
            (value: string) => (globalThis as any).sessionStorage.setItem('latch.session', value),
            copy,
          );
        }
        await late.evaluate(hearOtherTabsLate, 1_000);
        await setUp(late, { storage });
        const { accessToken: old, expiresAt } = (await session(late))!;
        await eventually(() => Date.now() > expiresAt, { what: 'the access token to expire' });
        const before = await refreshAttempts(t);

        const call = (tab: any) =>
          tab.evaluate(async () => {
            const client = (globalThis as any).client;
            const response = await client.fetch('/api/v1/users/me');
            return { status: response.status, token: client.getSession()?.accessToken };
          });
        const firstCall = call(first);
        if (during) {
          await late.evaluate(async () => {
            const deadline = Date.now() + 5_000;
            const locked = async () =>
              (await (globalThis as any).navigator.locks.query()).held.some(
                (lock: any) => lock.name === 'latch-refresh:latch.session',
              );
            while (!(await locked())) {
              if (Date.now() > deadline) throw new Error('the first tab never took the refresh lock');
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
          });
        } else {
          await firstCall;
        }
        const [a, b] = await Promise.all([firstCall, call(late)]);

        assert.equal(a.status, 200, 'the first tab refreshed and went on');
        assert.equal(b.status, 200, 'the late tab went on');
        assert.ok(a.token && a.token !== old, 'the first tab holds a new access token');
        assert.equal(b.token, a.token, 'the late tab holds the pair the first obtained');
        assert.equal((await refreshAttempts(t)) - before, 1, 'one POST /auth/refresh');
        await eventually(async () => (await auditedRefreshes(t, user.id)) >= 1, { what: 'the refresh to be audited' });
        assert.equal(await auditedRefreshes(t, user.id), 1, 'one auth.token.refreshed event');
        await assertBothKeepTheSession(tabs);
        await context.close();
      });
    }
  }
});
