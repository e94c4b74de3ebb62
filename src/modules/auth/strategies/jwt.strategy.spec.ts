import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AccessTokenService, VerifiedAccessToken } from '../../tokens/access-token.service';
import type { TokensService } from '../../tokens/tokens.service';
import type { UsersService } from '../../users/users.service';
import { JwtStrategy, VerifiedClaimsCache } from './jwt.strategy';

const USER_ID = randomUUID();
const SESSION_ID = randomUUID();

function claims(exp = Math.floor(Date.now() / 1000) + 600): VerifiedAccessToken['payload'] {
  return { sub: USER_ID, sid: SESSION_ID, exp, iat: exp - 600, jti: 'jti-1', roles: ['user'] };
}

/** A strategy whose signature check and key ring are stubs: `verifies` counts signature checks. */
function strategy(
  options: {
    payload?: VerifiedAccessToken['payload'];
    live?: () => boolean;
    /** What the state cache's memory tier holds (StateCache.peek); nothing by default. */
    inMemory?: { session?: { id: string; userId: string }; user?: { id: string; status: string; roles: string[] } };
  } = {},
) {
  const key: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const state = { verifies: 0, trusted: true as boolean, sessionChecks: 0, userChecks: 0 };
  const accessTokens = {
    verify: async (token: string) => {
      state.verifies++;
      return token.startsWith('good')
        ? { header: { alg: 'ES256', kid: 'k1' }, payload: options.payload ?? claims() }
        : undefined;
    },
    verifierFor: (kid: unknown) => (kid === 'k1' && state.trusted ? key : undefined),
  } as unknown as AccessTokenService;
  const tokens = {
    peekLiveSession: () => options.inMemory?.session,
    getLiveSession: async () => {
      state.sessionChecks++;
      return (options.live?.() ?? true) ? { id: SESSION_ID, userId: USER_ID } : null;
    },
  } as unknown as TokensService;
  const users = {
    peekById: () => options.inMemory?.user,
    getById: async () => {
      state.userChecks++;
      return { id: USER_ID, status: 'active', roles: ['user'] };
    },
  } as unknown as UsersService;
  return { jwt: new JwtStrategy(accessTokens, tokens, users), state };
}

describe('JwtStrategy', () => {
  it('checks a token’s signature once, and its session and user on every request', async () => {
    const { jwt, state } = strategy();
    for (let i = 0; i < 3; i++) assert.equal((await jwt.authenticate('good-token')).userId, USER_ID);
    assert.equal(state.verifies, 1);
    assert.equal(state.sessionChecks, 3);
    assert.equal(state.userChecks, 3);
  });

  it('refuses a remembered token once its key is no longer trusted, and does not remember failures', async () => {
    const { jwt, state } = strategy();
    await jwt.authenticate('good-token');
    state.trusted = false;
    await assert.rejects(async () => jwt.authenticate('good-token'));
    await assert.rejects(async () => jwt.authenticate('bad-token'));
    await assert.rejects(async () => jwt.authenticate('bad-token'));
    assert.equal(state.verifies, 3, 'the bad token is checked each time, the revoked one again');
  });

  it('refuses a remembered token whose session ended', async () => {
    let live = true;
    const { jwt } = strategy({ live: () => live });
    await jwt.authenticate('good-token');
    live = false;
    await assert.rejects(async () => jwt.authenticate('good-token'));
  });

  it('answers without waiting when the claims, the session and the user are all in memory', async () => {
    const session = { id: SESSION_ID, userId: USER_ID };
    const user = { id: USER_ID, status: 'active', roles: ['user'] };
    const { jwt, state } = strategy({ inMemory: { session, user } });
    const first = jwt.authenticate('good-token');
    assert.ok(first instanceof Promise, 'a first sight of a token verifies its signature');
    await first;
    const auth = jwt.authenticate('good-token');
    assert.ok(!(auth instanceof Promise));
    assert.equal(auth.userId, USER_ID);
    assert.equal(auth.sessionId, SESSION_ID);
    assert.equal(state.verifies, 1);
    state.trusted = false;
    await assert.rejects(async () => jwt.authenticate('good-token'), 'a revoked key refuses even from memory');
  });

  it('leaves it to the full check when what memory holds does not pass', async () => {
    let live = true;
    const other = { id: SESSION_ID, userId: randomUUID() };
    const disabled = { id: USER_ID, status: 'disabled', roles: ['user'] };
    const { jwt, state } = strategy({ live: () => live, inMemory: { session: other, user: disabled } });
    await jwt.authenticate('good-token');
    const second = jwt.authenticate('good-token');
    assert.ok(second instanceof Promise, 'a session of someone else, or a disabled user, is not a pass');
    await second;
    assert.equal(state.sessionChecks, 2);
    live = false;
    await assert.rejects(async () => jwt.authenticate('good-token'));
  });

  it('never remembers a token with malformed claims', async () => {
    const { jwt, state } = strategy({ payload: { ...claims(), sub: 'not-a-uuid' } });
    await assert.rejects(async () => jwt.authenticate('good-token'));
    await assert.rejects(async () => jwt.authenticate('good-token'));
    assert.equal(state.verifies, 2);
  });
});

describe('VerifiedClaimsCache', () => {
  const entry = (exp: number) => ({
    claims: { sub: USER_ID, sid: SESSION_ID, exp },
    payload: {},
    kid: 'k1',
    key: {} as KeyObject,
  });

  it('forgets a token at its exp', () => {
    const cache = new VerifiedClaimsCache(10);
    cache.set('t', entry(100), 50);
    assert.ok(cache.get('t', 99));
    assert.equal(cache.get('t', 100), undefined);
    assert.equal(cache.size, 0);
    cache.set('expired', entry(100), 100);
    assert.equal(cache.size, 0);
  });

  it('stays within its capacity, dropping expired entries first, then the oldest', () => {
    const cache = new VerifiedClaimsCache(100);
    cache.set('soon', entry(10), 0);
    for (let i = 0; i < 99; i++) cache.set(`t${i}`, entry(1000), 0);
    assert.equal(cache.size, 100);
    cache.set('new', entry(1000), 20); // 'soon' has expired by now
    assert.equal(cache.size, 100);
    assert.ok(cache.get('t0', 20), 'the oldest unexpired entry stays while an expired one can go');
    for (let i = 0; i < 50; i++) cache.set(`more${i}`, entry(1000), 20);
    assert.ok(cache.size <= 100);
    assert.equal(cache.get('t0', 20), undefined, 'then the oldest go');
    assert.ok(cache.get('more49', 20));
  });
});
