// What the HTTP fuzzer (http.fuzz.e2e-spec.ts) found, kept as plain tests of its shrunk
// counterexamples: requests Node's HTTP layer answers before Fastify or Nest ever see them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerAndLogin, type LoggedIn } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { exchange, type WireResponse } from './wire';

function assertMalformed(res: WireResponse): void {
  assert.equal(res.status, 400, res.text);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  const body = JSON.parse(res.text);
  assert.equal(body.code, 'MALFORMED_REQUEST');
  assert.equal(body.status, 400);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
}

describe('requests the HTTP parser refuses answer in the contract format', () => {
  let t: TestApp;
  let port: number;
  let user: LoggedIn;
  before(async () => {
    t = await createTestApp();
    port = Number(new URL(t.root.baseUrl).port);
    user = await registerAndLogin(t.api);
  });
  after(() => t.close());

  it('answers headers over 16 kB with 400 MALFORMED_REQUEST, not a bare 431', async () => {
    const res = await exchange(
      port,
      { method: 'GET', target: '/api/v1/users/me', headers: [['authorization', `Bearer ${'a'.repeat(27_000)}`]] },
      5_000,
    );
    assertMalformed(res);
  });

  it('answers a NUL in the request line or a header with 400 MALFORMED_REQUEST', async () => {
    assertMalformed(await exchange(port, { method: 'GET', target: '/api/v1/users/\u0000', headers: [] }, 5_000));
    assertMalformed(
      await exchange(port, { method: 'GET', target: '/api/v1/users/me', headers: [['x-a', 'a\u0000b']] }, 5_000),
    );
  });

  it('serves a request whose Expect it does not know instead of a bare 417', async () => {
    for (const expect of ['websocket', 'x-unknown']) {
      const res = await exchange(
        port,
        {
          method: 'GET',
          target: '/api/v1/users/me',
          headers: [
            ['authorization', `Bearer ${user.accessToken}`],
            ['expect', expect],
          ],
        },
        5_000,
      );
      assert.equal(res.status, 200, `${expect}: ${res.status} ${res.text}`);
      assert.equal(JSON.parse(res.text).id, user.id);
    }
  });
});
