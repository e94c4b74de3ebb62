import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPassword, commonPasswordCount } from './password-policy';

describe('password policy', () => {
  it('ships a list of at least 10,000 common passwords', () => {
    assert.ok(commonPasswordCount() >= 10_000, `${commonPasswordCount()}`);
  });

  it('accepts 8 to 256 code points of any script', () => {
    assert.equal(checkPassword('Zebra-Kite-9', 8), null);
    assert.equal(checkPassword('пароль-длинный-7', 8), null);
    assert.equal(checkPassword('密码很长很安全的', 8), null);
    assert.equal(checkPassword('q'.repeat(256), 8), null);
  });

  it('refuses too short and too long, naming the field', () => {
    assert.deepEqual(checkPassword('short1!', 8), { field: 'password', message: 'must be at least 8 characters long' });
    assert.match(checkPassword('q'.repeat(257), 8)?.message ?? '', /at most 256/);
    assert.equal(checkPassword('short1!', 8, 'newPassword')?.field, 'newPassword');
  });

  it('counts code points after NFKC, not UTF-16 units or bytes', () => {
    // Four astral characters are eight UTF-16 units but only four characters.
    assert.notEqual(checkPassword('𝔸𝔹ℂ𝔻', 8), null);
    // NFKC folds the ligature "ﬀ" into "ff", which then counts as two characters.
    assert.equal(checkPassword('ﬀﬀﬀﬀ', 8), null);
  });

  it('refuses common passwords case-insensitively', () => {
    assert.match(checkPassword('password1', 8)?.message ?? '', /too common/);
    assert.match(checkPassword('Sunshine1', 8)?.message ?? '', /too common/);
    assert.match(checkPassword('１２３４５６７８', 8)?.message ?? '', /too common/); // fullwidth digits
  });
});
