import assert from 'node:assert/strict';
import { createCipheriv, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  hashToken,
  newOpaqueToken,
  newRefreshToken,
  openFromGrace,
  refreshTokenClaimant,
  sealForGrace,
} from './token-crypto';

describe('token crypto', () => {
  it('makes opaque tokens of 256 random bits', () => {
    const token = newOpaqueToken();
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    assert.notEqual(newOpaqueToken(), token);
  });

  it('makes refresh tokens that name their session and user, with 256 random bits after them', () => {
    const sessionId = randomUUID();
    const userId = randomUUID();
    const token = newRefreshToken(sessionId, userId);
    assert.match(token, /^[A-Za-z0-9_-]{86}$/);
    assert.deepEqual(refreshTokenClaimant(token), { sessionId, userId });
    const other = newRefreshToken(sessionId, userId);
    assert.notEqual(other, token);
    assert.equal(Buffer.from(token, 'base64url').subarray(32).length, 32);
    assert.notDeepEqual(Buffer.from(token, 'base64url').subarray(32), Buffer.from(other, 'base64url').subarray(32));
  });

  it('names no claimant for older tokens or anything malformed', () => {
    assert.equal(refreshTokenClaimant(newOpaqueToken()), undefined);
    assert.equal(refreshTokenClaimant('x'.repeat(85)), undefined);
    assert.equal(refreshTokenClaimant(`${'x'.repeat(85)}.`), undefined);
    assert.equal(refreshTokenClaimant(`${'x'.repeat(85)}é`), undefined);
    assert.equal(refreshTokenClaimant(''), undefined);
  });

  it('hashes tokens with SHA-256, deterministically', () => {
    assert.equal(hashToken('abc').length, 32);
    assert.deepEqual(hashToken('abc'), hashToken('abc'));
    assert.notDeepEqual(hashToken('abc'), hashToken('abd'));
  });

  it('opens a sealed pair only with the replaced token and the same session', () => {
    const sealed = sealForGrace({ accessToken: 'a', refreshToken: 'r' }, 'old-token', 'session-1');
    assert.deepEqual(openFromGrace(sealed, 'old-token', 'session-1'), { accessToken: 'a', refreshToken: 'r' });
    assert.equal(openFromGrace(sealed, 'other-token', 'session-1'), null);
    assert.equal(openFromGrace(sealed, 'old-token', 'session-2'), null);
    assert.ok(!sealed.toString('latin1').includes('"refreshToken"'));
  });

  it('detects tampering', () => {
    const sealed = sealForGrace({ x: 1 }, 'old', 's');
    sealed[sealed.length - 1] ^= 1;
    assert.equal(openFromGrace(sealed, 'old', 's'), null);
  });

  it('opens a pair sealed by an instance of the previous release (same key derivation)', () => {
    // As sealed before the keys became KeyObjects: HKDF-SHA-256 over Buffers, AES-256-GCM.
    const key = Buffer.from(hkdfSync('sha256', Buffer.from('old-token', 'utf8'), 'latch/refresh-grace/v1', 's1', 32));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify({ accessToken: 'a' }), 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]);
    assert.deepEqual(openFromGrace(sealed, 'old-token', 's1'), { accessToken: 'a' });
  });
});
