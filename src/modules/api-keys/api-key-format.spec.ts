import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateApiKey, wellFormedApiKey } from './api-key-format';

describe('API key format', () => {
  it('generates latch_ keys of 256 random bits whose prefix is their first characters', () => {
    const { key, prefix } = generateApiKey();
    assert.match(key, /^latch_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(key.slice(6), 'base64url').length, 32);
    assert.ok(key.startsWith(prefix) && prefix.length === 14);
    assert.notEqual(generateApiKey().key, key);
  });

  it('accepts only one well-formed key', () => {
    const { key } = generateApiKey();
    assert.equal(wellFormedApiKey(key), key);
    for (const bad of [
      undefined,
      [key, key],
      'x' + key.slice(1),
      key.slice(0, -1),
      key + 'A',
      key.slice(0, -1) + '+',
      `${key}, ${key}`,
      'latch_' + 'A'.repeat(10_000),
    ]) {
      assert.equal(wellFormedApiKey(bad), undefined);
    }
  });
});
