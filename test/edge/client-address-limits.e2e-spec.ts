// Issue 12 item 11: per-address limits count an IPv6 client by its /64, and an IPv4-mapped IPv6
// address as its IPv4 address, so rotating through one's own prefix buys no fresh budget.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, TestApp } from '../utils/create-test-app';
import type { HttpResponse } from '../utils/http';

describe('per-address limits group clients as docs/security.md says (IPv6 by /64)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_LOGIN: '2', TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' },
    });
  });
  after(() => t.close());

  function emptyLogin(clientAddress: string): Promise<HttpResponse> {
    return t.api.post('/auth/login', {}, { headers: { 'x-forwarded-for': clientAddress } });
  }

  it('makes two addresses in one /64 share a budget, and another /64 keep its own', async () => {
    assert.equal((await emptyLogin('2001:db8:a:1::1')).status, 400);
    assert.equal((await emptyLogin('2001:db8:a:1:ffff:ffff:ffff:fffe')).status, 400);
    const refused = await emptyLogin('2001:db8:a:1:1234::99');
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.body.code, 'RATE_LIMITED');
    assert.equal((await emptyLogin('2001:db8:a:2::1')).status, 400, 'the next /64 is another client');
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 address', async () => {
    assert.equal((await emptyLogin('198.51.100.7')).status, 400);
    assert.equal((await emptyLogin('::ffff:198.51.100.7')).status, 400);
    assert.equal((await emptyLogin('198.51.100.7')).status, 429);
    assert.equal((await emptyLogin('198.51.100.8')).status, 400);
  });
});
