import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { KeyedHash } from './keyed-hash';

describe('KeyedHash', () => {
  const current = randomBytes(32);
  const old = randomBytes(32);

  it('gives a digest that depends on the server key and the purpose, not only on the value', () => {
    const one = new KeyedHash([current]).digests('latch_secret', 'api-key')[0];
    assert.match(one!, /^[0-9a-f]{64}$/);
    assert.notEqual(new KeyedHash([old]).digests('latch_secret', 'api-key')[0], one);
    assert.notEqual(new KeyedHash([current]).digests('latch_secret', 'other')[0], one);
    assert.equal(new KeyedHash([current]).digests('latch_secret', 'api-key')[0], one);
  });

  it('offers the digests under every key after a rotation, the current one first', () => {
    const rotated = new KeyedHash([current, old]).digests('v', 'p');
    assert.deepEqual(rotated, [
      new KeyedHash([current]).digests('v', 'p')[0],
      new KeyedHash([old]).digests('v', 'p')[0],
    ]);
  });

  it('compares digests in constant time and refuses different lengths', () => {
    assert.equal(KeyedHash.equal('abcd', 'abcd'), true);
    assert.equal(KeyedHash.equal('abcd', 'abce'), false);
    assert.equal(KeyedHash.equal('abcd', 'abc'), false);
  });
});
