import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigService } from '@nestjs/config';
import type { DomainEvents } from '../../common/events/domain-events.service';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import { ClientInfo } from '../../common/events/domain-events';
import type { StateCache } from '../cache/state-cache.service';
import type { RefreshSessionsRepository, ReplacedTokenState } from './refresh-sessions.repository';
import { PreparedRefresh, RefreshRotationService } from './refresh-rotation.service';
import { hashToken, sealForGrace } from './token-crypto';
import { TokensService } from './tokens.service';

const GRACE_SECONDS = 10;

const client: ClientInfo = { ip: '127.0.0.1', userAgent: 'spec' };

/**
 * The rotation with stubs for the repository, cache and event bus (and the TokensService that
 * revokes a reused token's session over them); `events` collects what is emitted.
 */
function recording(repo: Partial<RefreshSessionsRepository>): {
  rotation: RefreshRotationService;
  events: { name: string }[];
} {
  const events: { name: string }[] = [];
  const config = {
    get: () => ({ refreshTokenTtl: 3600, refreshReuseGraceSeconds: GRACE_SECONDS }),
  } as unknown as ConfigService;
  const cache = { forget: async () => undefined } as unknown as StateCache;
  const bus = { publish: (...published: { name: string }[]) => events.push(...published) } as unknown as DomainEvents;
  const sessions = { countLive: async () => 0, ...repo } as RefreshSessionsRepository;
  const tokens = new TokensService(sessions, config as never, cache, bus);
  return { rotation: new RefreshRotationService(sessions, config as never, tokens), events };
}

function service(repo: Partial<RefreshSessionsRepository>): RefreshRotationService {
  return recording(repo).rotation;
}

function replaced(overrides: Partial<ReplacedTokenState>): ReplacedTokenState {
  const now = new Date('2026-01-01T00:00:30Z');
  return {
    id: 'session-1',
    userId: 'user-1',
    expiresAt: new Date('2026-02-01T00:00:00Z'),
    rotatedAt: new Date(now.getTime() - 1000),
    revokedAt: null,
    graceCiphertext: null,
    now,
    ...overrides,
  };
}

describe('RefreshRotationService.rotate', () => {
  it('rotates a current token and never stores the raw values', async () => {
    let seen: Buffer[] = [];
    const rotation = service({
      rotate: async (oldHash, newHash) => {
        seen = [oldHash, newHash];
        return { id: 's', userId: 'u', expiresAt: new Date(), rotatedAt: new Date() };
      },
    });
    const outcome = await rotation.rotate('presented-token', client);
    assert.equal(outcome.kind, 'rotated');
    assert.deepEqual(seen[0], hashToken('presented-token'));
    if (outcome.kind === 'rotated') assert.deepEqual(seen[1], hashToken(outcome.refreshToken));
  });

  it('replays the sealed pair for the just-replaced token inside the grace window', async () => {
    const pair = {
      accessToken: 'access',
      accessExpiresAt: '2026-01-01T00:15:00.000Z',
      refreshToken: 'new-refresh',
      refreshExpiresAt: '2026-02-01T00:00:00.000Z',
    };
    const rotation = service({
      rotate: async () => null,
      findByReplacedToken: async () => replaced({ graceCiphertext: sealForGrace(pair, 'old', 'session-1') }),
    });
    const outcome = await rotation.rotate('old', client);
    assert.equal(outcome.kind, 'replayed');
    if (outcome.kind === 'replayed') assert.equal(outcome.tokens.refreshToken, 'new-refresh');
  });

  it('revokes the session when the replaced token comes back after the window', async () => {
    const revoked: string[] = [];
    const { rotation, events } = recording({
      rotate: async () => null,
      findByReplacedToken: async () => {
        const state = replaced({});
        return { ...state, rotatedAt: new Date(state.now.getTime() - (GRACE_SECONDS + 1) * 1000) };
      },
      revoke: async (id: string) => {
        revoked.push(id);
        return { id, userId: 'user-1', expiresAt: new Date() };
      },
    });
    const outcome = await rotation.rotate('old', client);
    assert.deepEqual(outcome, { kind: 'reuse', sessionId: 'session-1', userId: 'user-1' });
    assert.deepEqual(revoked, ['session-1']);
    assert.deepEqual(
      events.map((e) => e.name),
      ['auth.refresh.reuse_detected', 'auth.session.revoked'],
    );
  });

  it('treats a token found only in the history as reuse', async () => {
    const rotation = service({
      rotate: async () => null,
      findByReplacedToken: async () => null,
      findSessionOfHistoricToken: async () => ({ id: 'session-9', userId: 'user-9' }),
      revoke: async () => null,
    });
    assert.equal((await rotation.rotate('ancient', client)).kind, 'reuse');
  });

  it('answers unknown and revoked tokens with INVALID_REFRESH_TOKEN', async () => {
    const unknown = service({
      rotate: async () => null,
      findByReplacedToken: async () => null,
      findSessionOfHistoricToken: async () => null,
    });
    await assert.rejects(unknown.rotate('nope', client), (e: AppError) => e.code === ErrorCode.InvalidRefreshToken);
    const revoked = service({
      rotate: async () => null,
      findByReplacedToken: async () => replaced({ revokedAt: new Date() }),
    });
    await assert.rejects(revoked.rotate('old', client), (e: AppError) => e.code === ErrorCode.InvalidRefreshToken);
  });

  it('refuses a sealed pair that the presented token cannot open', async () => {
    const rotation = service({
      rotate: async () => null,
      findByReplacedToken: async () => replaced({ graceCiphertext: sealForGrace({}, 'someone-else', 'session-1') }),
    });
    await assert.rejects(rotation.rotate('old', client), (e: AppError) => e.code === ErrorCode.InvalidRefreshToken);
  });
});

describe('RefreshRotationService.rotate, concurrent refreshes', () => {
  /** A prepared refresh of its own session, as TokenRefreshService makes one. */
  const prepared = (session: string): PreparedRefresh => ({
    tokens: {
      sessionId: session,
      userId: `user-of-${session}`,
      accessToken: `access-${session}`,
      accessExpiresAt: new Date('2026-01-01T00:15:00Z'),
      refreshToken: `refresh-${session}`,
      refreshExpiresAt: new Date('2026-02-01T00:00:00Z'),
    },
    alongside: { sql: () => 'INSERT …', params: [], row: { table: 'auth_events', columns: [], values: [] } },
  });
  const rotatedFor = (sessionId: string) => ({
    id: sessionId,
    userId: 'u',
    expiresAt: new Date(),
    rotatedAt: new Date(),
  });

  /** Five refreshes at once: two find a free slot and go alone, the other three wait and go as one group. */
  async function fiveAtOnce(rotateGroup: RefreshSessionsRepository['rotateGroup']) {
    const alone: string[] = [];
    const rotation = service({
      rotate: async (_old, _new, _idle, extras) => {
        alone.push(extras!.claimant!.sessionId);
        return rotatedFor(extras!.claimant!.sessionId);
      },
      rotateGroup,
    });
    const outcomes = await Promise.allSettled(
      ['s1', 's2', 's3', 's4', 's5'].map((s) => rotation.rotate(`token-${s}`, client, prepared(s))),
    );
    return { alone, outcomes };
  }

  it('rotates the refreshes that waited in one statement', async () => {
    const grouped: string[][] = [];
    const { alone, outcomes } = await fiveAtOnce(async (items) => {
      grouped.push(items.map((item) => item.claimant.sessionId));
      return items.map((item) => rotatedFor(item.claimant.sessionId));
    });
    assert.deepEqual(alone, ['s1', 's2']);
    assert.deepEqual(grouped, [['s3', 's4', 's5']]);
    assert.deepEqual(
      outcomes.map((o) => o.status === 'fulfilled' && o.value.kind),
      ['rotated', 'rotated', 'rotated', 'rotated', 'rotated'],
    );
  });

  it("tries each refresh alone when PostgreSQL refused the group's statement for its rows (a deadlock)", async () => {
    const { alone, outcomes } = await fiveAtOnce(async () => {
      throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
    });
    assert.deepEqual([...alone].sort(), ['s1', 's2', 's3', 's4', 's5']);
    assert.ok(outcomes.every((o) => o.status === 'fulfilled' && o.value.kind === 'rotated'));
  });

  it('fails the whole group, without retrying, when the database is out of reach', async () => {
    const { alone, outcomes } = await fiveAtOnce(async () => {
      throw new Error('Connection terminated unexpectedly');
    });
    assert.deepEqual(alone, ['s1', 's2']);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected'],
    );
  });
});
