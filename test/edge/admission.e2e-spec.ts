import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerAndLogin, uniqueEmail } from '../factories/users';
import { createTestApp, TestApp } from '../utils/create-test-app';

describe('admission control for password hashing', () => {
  let t: TestApp;
  before(async () => {
    // One hash at a time, nobody waiting, and a cost that keeps the slot busy for a while.
    t = await createTestApp({ env: { BCRYPT_CONCURRENCY: '1', BCRYPT_QUEUE_MAX: '0', BCRYPT_ROUNDS: '12' } });
  });
  after(() => t.close());

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After when the hashing queue is full, and keeps serving tokens', async () => {
    const user = await registerAndLogin(t.api);
    const storm = Array.from({ length: 6 }, () =>
      t.api.post('/auth/login', { email: uniqueEmail('storm'), password: 'not the password' }),
    );
    const oauth = t.api.request('POST', '/auth/token', {
      form: { grant_type: 'password', username: uniqueEmail('storm'), password: 'not the password' },
    });
    const verify = await t.api.get('/auth/verify', { token: user.accessToken });
    const answers = await Promise.all([...storm, oauth]);

    assert.equal(verify.status, 200); // token checks never queue behind bcrypt
    for (const res of answers) assert.ok([400, 401, 503].includes(res.status), `${res.status} ${res.text}`);
    const refused = answers.filter((res) => res.status === 503);
    assert.ok(refused.length >= 1, 'at least one login found the queue full');
    for (const res of refused) {
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(res.body.code, 'SERVICE_UNAVAILABLE');
      const retryAfter = Number(res.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`);
    }
    // The gate lets work through again once the storm has passed.
    const again = await t.api.post('/auth/login', { email: user.email, password: user.password });
    assert.equal(again.status, 200);
  });
});
