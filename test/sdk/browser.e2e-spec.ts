// The client SDK's browser bundle in headless Chromium: two tabs of one browser, sharing the session
// through localStorage, fire requests at the moment the access token expires. The server must see
// one refresh, and both tabs must go on with the new pair.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registerUser } from '../factories/users';
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

  it('two tabs firing 20 requests each as the access token expires cause one refresh; both keep the session', async () => {
    const user = await registerUser(t.api);
    const context = await browser.newContext();
    const tabs = [await context.newPage(), await context.newPage()];
    for (const tab of tabs) {
      await tab.goto(`${origin}/`);
      await tab.waitForFunction("document.title === 'ready'");
    }
    const baseUrl = t.root.baseUrl;
    const setUp = (tab: any) =>
      tab.evaluate((url: string) => {
        const w = globalThis as any;
        // No background refresh, no early refresh: the requests themselves meet the expired token.
        w.client = w.createLatchClient({ baseUrl: url, storage: 'local', autoRefresh: false, refreshLeewaySeconds: 0 });
        w.changes = [];
        w.client.onSessionChange((change: { reason: string }) => w.changes.push(change.reason));
      }, baseUrl);
    await setUp(tabs[0]);
    await tabs[0].evaluate(
      (credentials: { email: string; password: string }) => (globalThis as any).client.login(credentials),
      { email: user.email, password: user.password },
    );
    await setUp(tabs[1]);
    const first = await tabs[1].evaluate(() => (globalThis as any).client.getSession()?.accessToken);
    assert.ok(first, 'the second tab sees the session of the first');
    const expiresAt: number = await tabs[0].evaluate(() => (globalThis as any).client.getSession().expiresAt);
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

    // Both go on with the new pair: no further refresh, nobody signed out.
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
    assert.equal((await refreshAttempts(t)) - before, 1, 'still one refresh');
    await context.close();
  });
});
