// API keys across an ENCRYPTION_KEY rotation: the keyed hash moves to the new key on first use.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { registerAndLogin } from '../factories/users';
import { createTestApp, TEST_ENCRYPTION_KEY, TestApp } from '../utils/create-test-app';
import { query } from '../utils/database';
import { StateCache } from '../../src/modules/cache/state-cache.service';
import { createKey, withKey } from './helpers';

describe('API keys and ENCRYPTION_KEY rotation', () => {
  it('finds a key hashed under a retired ENCRYPTION_KEY and re-hashes it under the current one', async () => {
    const old = await createTestApp();
    let rotated: TestApp | undefined;
    try {
      const user = await registerAndLogin(old.api);
      const key = await createKey(old.api, user.accessToken, { scopes: ['profile'] });
      const hashOf = async () =>
        (
          await query<{ key_hash: string }>(old.databaseUrl, 'SELECT key_hash FROM api_keys WHERE id = $1', [key.id])
        )[0]!.key_hash;
      const before = await hashOf();
      rotated = await createTestApp({
        databaseUrl: old.databaseUrl,
        env: { ENCRYPTION_KEY: `${randomBytes(32).toString('base64')},${TEST_ENCRYPTION_KEY}` },
      });
      assert.equal((await rotated.api.get('/users/me', withKey(key.key))).status, 200);
      assert.notEqual(await hashOf(), before, 're-hashed under the new key');
      assert.equal((await rotated.api.get('/users/me', withKey(key.key))).status, 200);
      // The instance that knows only the old key can no longer check it: the hash moved on.
      await old.app.get(StateCache).forget('api_key', [before]);
      assert.equal((await old.api.get('/users/me', withKey(key.key))).status, 401);
    } finally {
      await rotated?.close();
      await old.close();
    }
  });
});
