// Open presence streams are capped per user (429) so that one admin token cannot hold an instance's
// connections (docs/api.md, Presence).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_STREAMS_PER_USER } from '../../src/modules/presence/stream-slots';
import { eventually } from '../utils/eventually';
import { GOOD_PASSWORD, login, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { openSse, SseClient } from '../utils/sse';

const ADMIN = { id: '', email: uniqueEmail('presence-caps'), password: GOOD_PASSWORD };

describe('presence stream caps', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } });
  });
  after(() => t.close());

  it('refuses a user more open streams than the cap with 429, and frees a slot when one closes', async () => {
    const admin = await login(t.api, ADMIN);
    const url = `${t.api.baseUrl}/users/presence/stream`;
    const open: SseClient<unknown>[] = [];
    try {
      for (let i = 0; i < MAX_STREAMS_PER_USER; i++) {
        const stream = await openSse(url, admin.accessToken);
        open.push(stream);
        assert.equal(stream.status, 200);
      }
      // Another session of the same user counts against the same cap.
      const second = await login(t.api, ADMIN);
      const refused = await t.api.get('/users/presence/stream', { token: second.accessToken });
      assert.equal(refused.status, 429);
      assert.equal(refused.body.code, 'RATE_LIMITED');
      assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);

      open.shift()!.close();
      await eventually(
        async () => {
          const stream = await openSse(url, second.accessToken);
          if (stream.status === 200) open.push(stream);
          else stream.close();
          return stream.status === 200;
        },
        { what: 'a stream slot freed by a closed stream', timeoutMs: 20_000, intervalMs: 100 },
      );
    } finally {
      for (const stream of open) stream.close();
    }
  });
});
