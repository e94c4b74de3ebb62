import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base32Decode, totpAt } from './totp';

describe('the tests’ own TOTP', () => {
  it('matches the SHA-1 test vectors of RFC 6238, appendix B', () => {
    const key = Buffer.from('12345678901234567890', 'ascii');
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [time, code] of vectors) assert.equal(totpAt(key, time, 8), code, `T=${time}`);
  });

  it('decodes base32 (RFC 4648)', () => {
    assert.equal(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ').toString('ascii'), '12345678901234567890');
  });
});
