import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigService } from '@nestjs/config';
import type { DomainEvents } from '../../common/events/domain-events.service';
import { ClientInfo, SessionRevokedEvent } from '../../common/events/domain-events';
import type { StateCache } from '../cache/state-cache.service';
import type { RefreshSessionsRepository } from './refresh-sessions.repository';
import { TokensService } from './tokens.service';

const client: ClientInfo = { ip: '127.0.0.1', userAgent: 'spec' };

/** The service with stubs for its repository, cache and event bus; `events` collects what it emits. */
function recording(repo: Partial<RefreshSessionsRepository>): { tokens: TokensService; events: { name: string }[] } {
  const events: { name: string }[] = [];
  const config = {
    get: () => ({ refreshTokenTtl: 3600 }),
  } as unknown as ConfigService;
  const cache = { forget: async () => undefined } as unknown as StateCache;
  const bus = { publish: (...published: { name: string }[]) => events.push(...published) } as unknown as DomainEvents;
  const sessions = { countLive: async () => 0, ...repo } as RefreshSessionsRepository;
  return { tokens: new TokensService(sessions, config as never, cache, bus), events };
}

describe('TokensService revocation', () => {
  it('announces the sessions it ended, saying whether the user has any left', async () => {
    const { tokens, events } = recording({
      revokeAllForUser: async () => ['s1', 's2'],
      countLive: async () => 1,
    });
    assert.deepEqual(await tokens.revokeAllSessions('u1', 'password_changed', client, 's3'), ['s1', 's2']);
    assert.equal(events.length, 1);
    assert.ok(events[0] instanceof SessionRevokedEvent);
    const event = events[0] as SessionRevokedEvent;
    assert.deepEqual(
      [event.userId, event.sessionIds, event.reason, event.lastSessionEnded, event.client],
      ['u1', ['s1', 's2'], 'password_changed', false, client],
    );
  });

  it('announces nothing when there was nothing to revoke', async () => {
    const { tokens, events } = recording({ revokeAllForUser: async () => [], revoke: async () => null });
    await tokens.revokeAllSessions('u1', 'logout_all', client);
    assert.equal(await tokens.revokeSession('s1', 'logout', client), null);
    assert.deepEqual(events, []);
  });

  it('announces the last session of a user ending', async () => {
    const { tokens, events } = recording({
      revoke: async (id: string) => ({ id, userId: 'u1', expiresAt: new Date() }),
      countLive: async () => 0,
    });
    await tokens.revokeSession('s1', 'logout', client);
    assert.equal((events[0] as SessionRevokedEvent).lastSessionEnded, true);
  });

  it('announces a reused token even when its session had already ended, but no second session end', async () => {
    const { tokens, events } = recording({ revoke: async () => null });
    await tokens.revokeForReuse('s1', 'u1', client);
    assert.deepEqual(
      events.map((e) => e.name),
      ['auth.refresh.reuse_detected'],
    );
  });
});
