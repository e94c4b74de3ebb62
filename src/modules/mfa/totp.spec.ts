import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRecoveryCodes, RECOVERY_CODE_PATTERN, recoveryCodeHash } from './recovery-codes';
import { matchingStep, newTotpSecret, totpUri } from './totp';

// RFC 6238 appendix B's SHA-1 key, "12345678901234567890", in base32; at T = 59 s the 8-digit code
// is 94287082, so the 6-digit one is 287082 (step 1).
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('TOTP', () => {
  it('finds the step of an RFC 6238 code, with one step of drift either way and not two', () => {
    assert.equal(matchingStep(RFC_SECRET, '287082', 59_000), 1);
    assert.equal(matchingStep(RFC_SECRET, '287082', 59_000 + 30_000), 1);
    assert.equal(matchingStep(RFC_SECRET, '287082', 59_000 - 30_000), 1);
    assert.equal(matchingStep(RFC_SECRET, '287082', 59_000 + 60_000), null);
    assert.equal(matchingStep(RFC_SECRET, '287083', 59_000), null);
  });

  it('refuses anything but six ASCII digits without asking the library', () => {
    for (const code of ['', '28708', '2870820', '２８７０８２', '٢٨٧٠٨٢', ' 287082']) {
      assert.equal(matchingStep(RFC_SECRET, code, 59_000), null, code);
    }
  });

  it('makes 160-bit base32 secrets and an otpauth URI with issuer and account', () => {
    const secret = newTotpSecret();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(totpUri(secret, 'Latch', 'ada@example.com'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('issuer'), 'Latch');
    assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');
  });
});

describe('recovery codes', () => {
  it('makes ten distinct codes of 60 bits, hashed the same whatever the case and dashes', () => {
    const codes = newRecoveryCodes();
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, RECOVERY_CODE_PATTERN);
    const [code] = codes as [string];
    const hash = recoveryCodeHash('user-1', code);
    assert.equal(recoveryCodeHash('user-1', code.toUpperCase().replace(/-/g, '')), hash);
    assert.notEqual(recoveryCodeHash('user-2', code), hash, 'bound to the user');
  });
});
