import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SecretBox, SecretBoxError } from './secret-box.service';

const OLD = randomBytes(32);
const NEW = randomBytes(32);
const CONTEXT = 'mail_outbox.secret\0row-1';

describe('SecretBox', () => {
  it('opens what it sealed, and the sealed value does not contain the plaintext', () => {
    const box = new SecretBox([NEW]);
    const token = 'reset-token_ABC-123';
    const sealed = box.seal(token, CONTEXT);
    assert.match(sealed, /^v1\.[\w-]+\.[\w-]+$/);
    assert.ok(!sealed.includes(token));
    assert.ok(!sealed.includes(Buffer.from(token).toString('base64url')));
    assert.equal(box.open(sealed, CONTEXT), token);
    assert.equal(box.open(box.seal('', CONTEXT), CONTEXT), '');
    assert.equal(box.open(box.seal('ünïcødé ✓', CONTEXT), CONTEXT), 'ünïcødé ✓');
  });

  it('seals the same plaintext differently every time', () => {
    const box = new SecretBox([NEW]);
    assert.notEqual(box.seal('same', CONTEXT), box.seal('same', CONTEXT));
  });

  it('refuses a value sealed for another context (another row or purpose)', () => {
    const box = new SecretBox([NEW]);
    const sealed = box.seal('token', CONTEXT);
    assert.throws(() => box.open(sealed, 'mail_outbox.secret\0row-2'), SecretBoxError);
    assert.throws(() => box.open(sealed, ''), SecretBoxError);
  });

  it('refuses altered or malformed values', () => {
    const box = new SecretBox([NEW]);
    const sealed = box.seal('token', CONTEXT);
    const [version, keyId, payload] = sealed.split('.') as [string, string, string];
    const bytes = Buffer.from(payload, 'base64url');
    bytes[bytes.length - 1]! ^= 1;
    const altered = [version, keyId, bytes.toString('base64url')].join('.');
    for (const bad of [altered, 'token', '', 'v1.x', `v2.${keyId}.${payload}`, `${sealed}.more`, `v1.${keyId}.AAAA`]) {
      assert.throws(() => box.open(bad, CONTEXT), SecretBoxError, JSON.stringify(bad));
    }
  });

  it('after a rotation ("new,old") opens values sealed under the old key and seals under the new', () => {
    const before = new SecretBox([OLD]);
    const sealedBefore = before.seal('old token', CONTEXT);
    const rotated = new SecretBox([NEW, OLD]);
    assert.equal(rotated.open(sealedBefore, CONTEXT), 'old token');
    assert.equal(rotated.isStale(sealedBefore), true);
    const sealedAfter = rotated.seal('new token', CONTEXT);
    assert.equal(rotated.isStale(sealedAfter), false);
    assert.equal(new SecretBox([NEW]).open(sealedAfter, CONTEXT), 'new token');
    assert.throws(() => before.open(sealedAfter, CONTEXT), /no longer lists/);
  });

  it('refuses a value sealed under a key it does not hold, naming the key id but no key', () => {
    const sealed = new SecretBox([OLD]).seal('token', CONTEXT);
    assert.throws(
      () => new SecretBox([NEW]).open(sealed, CONTEXT),
      (e: Error) => e instanceof SecretBoxError && e.message.includes(sealed.split('.')[1]!),
    );
  });

  it('needs at least one key of 32 bytes', () => {
    assert.throws(() => new SecretBox([]), SecretBoxError);
    assert.throws(() => new SecretBox([randomBytes(31)]), SecretBoxError);
    assert.doesNotThrow(() => new SecretBox([randomBytes(64)]));
  });
});
