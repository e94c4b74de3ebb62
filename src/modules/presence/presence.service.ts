// Who came online or went offline, fanned out to every instance's SSE clients: through Redis
// pub/sub when REDIS_URL is set (an instance hears its own messages through its subscription), in
// process otherwise. Best effort by nature: a change published while Redis is down is delivered to
// this instance's clients only.
//
// A stream lives only as long as its viewer may see it (docs/api.md, Presence): it ends when the
// viewer's session ends or the viewer is disabled, on any instance (announced on a second channel,
// `presence:ended`, by the instance that saw the event), at the access token's `exp`, and, should an
// announcement be lost, at the next check of the session and the user through the state cache (the
// same check as every request, once a second). Streams are capped per user and per instance
// (stream-slots.ts).
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { defer, exhaustMap, filter, finalize, interval, map, merge, Observable, Subject, takeUntil, timer } from 'rxjs';
import { RedisService } from '../../redis/redis.service';
import { TokensService } from '../tokens/tokens.service';
import { UsersService } from '../users/users.service';
import { StreamSlots } from './stream-slots';

export type PresenceStatus = 'online' | 'offline';

export interface PresenceChange {
  userId: string;
  status: PresenceStatus;
  /** ISO 8601 */
  at: string;
}

/** A comment line now and then keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 25_000;

/** How often an open stream checks that its viewer's session is live and the viewer an active admin. */
export const VIEWER_CHECK_MS = 1000;

/** setTimeout's longest delay; a later `exp` is checked again by then (the stream ends and is reopened). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whose streams must end: sent across instances on the `presence:ended` channel. */
interface StreamsEnded {
  sessionIds: string[];
  userIds: string[];
}

/** Who watches a stream, from the access token that opened it. */
export interface PresenceViewer {
  userId: string;
  sessionId: string;
  tokenExpiresAt: Date;
}

/** How long start-up waits for the subscription, so that a fresh instance does not miss changes. */
const SUBSCRIBE_WAIT_MS = 2000;

function parseChange(message: string): PresenceChange | null {
  try {
    const value = JSON.parse(message) as Partial<PresenceChange>;
    if (typeof value.userId !== 'string' || typeof value.at !== 'string') return null;
    if (value.status !== 'online' && value.status !== 'offline') return null;
    return { userId: value.userId, status: value.status, at: value.at };
  } catch {
    return null;
  }
}

function parseEnded(message: string): StreamsEnded | null {
  try {
    const value = JSON.parse(message) as Partial<StreamsEnded>;
    const strings = (list: unknown): string[] =>
      Array.isArray(list) ? list.filter((id): id is string => typeof id === 'string') : [];
    return { sessionIds: strings(value.sessionIds), userIds: strings(value.userIds) };
  } catch {
    return null;
  }
}

@Injectable()
export class PresenceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Presence');
  private readonly changes = new Subject<PresenceChange>();
  private readonly endedSessions = new Subject<string>();
  private readonly endedUsers = new Subject<string>();
  private readonly closing = new Subject<void>();
  private readonly channel: string;
  private readonly endChannel: string;
  private readonly slots = new StreamSlots();
  private subscriber: Redis | null = null;

  constructor(
    private readonly redis: RedisService,
    private readonly tokens: TokensService,
    private readonly users: UsersService,
  ) {
    this.channel = redis.key('presence');
    this.endChannel = redis.key('presence', 'ended');
  }

  async onModuleInit(): Promise<void> {
    const subscriber = this.redis.duplicate('presence');
    if (!subscriber) return;
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) {
        const change = parseChange(message);
        if (change) this.changes.next(change);
      } else if (channel === this.endChannel) {
        const ended = parseEnded(message);
        if (ended) this.endLocally(ended);
      }
    });
    let subscribed: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (subscribed = resolve));
    const subscribe = (): void => {
      subscriber.subscribe(this.channel, this.endChannel).then(
        () => subscribed(),
        (error: unknown) => this.logger.warn(`Could not subscribe to presence changes: ${String(error)}`),
      );
    };
    // enableOfflineQueue is off, so subscribe only on a ready connection (and again after a reconnect).
    subscriber.on('ready', subscribe);
    if (subscriber.status === 'ready') subscribe();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise((resolve) => (timer = setTimeout(resolve, SUBSCRIBE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /** Ends every open stream, so that the HTTP server can close (SSE responses never end by themselves). */
  onModuleDestroy(): void {
    this.closing.next();
    this.closing.complete();
    this.changes.complete();
    this.endedSessions.complete();
    this.endedUsers.complete();
  }

  /**
   * Presence changes for one viewer, with a keep-alive comment now and then. Subscribing takes one of
   * the viewer's stream slots (AppError RATE_LIMITED or SERVICE_UNAVAILABLE when none is left), given
   * back when the stream ends. It ends when the viewer's session ends or the viewer is disabled (on
   * any instance), at the token's expiry, or when the application shuts down.
   */
  watch(viewer: PresenceViewer): Observable<PresenceChange | null> {
    return defer(() => {
      const release = this.slots.take(viewer.userId);
      const ended = merge(
        this.endedSessions.pipe(filter((id) => id === viewer.sessionId)),
        this.endedUsers.pipe(filter((id) => id === viewer.userId)),
        timer(Math.min(MAX_TIMER_MS, Math.max(0, viewer.tokenExpiresAt.getTime() - Date.now()))),
        interval(VIEWER_CHECK_MS).pipe(
          exhaustMap(() => this.viewerAllowed(viewer)),
          filter((allowed) => !allowed),
        ),
        this.closing,
      );
      return merge(this.changes, interval(KEEP_ALIVE_MS).pipe(map(() => null))).pipe(
        takeUntil(ended),
        finalize(release),
      );
    });
  }

  /** Open streams on this instance (for tests and diagnostics). */
  get openStreams(): number {
    return this.slots.open;
  }

  /** Ends the streams opened with these sessions, on every instance. */
  sessionsEnded(sessionIds: string[]): Promise<void> {
    return this.endStreams({ sessionIds, userIds: [] });
  }

  /** Ends the streams of these users (e.g. disabled), on every instance. */
  usersDisabled(userIds: string[]): Promise<void> {
    return this.endStreams({ sessionIds: [], userIds });
  }

  /** The same test as the JWT guard and the admin role check, read through the state cache. */
  private async viewerAllowed(viewer: PresenceViewer): Promise<boolean> {
    try {
      const [session, user] = await Promise.all([
        this.tokens.getLiveSession(viewer.sessionId),
        this.users.getById(viewer.userId),
      ]);
      return session?.userId === viewer.userId && user?.status === 'active' && user.roles.includes('admin');
    } catch (error) {
      // Cannot tell (database unreachable): keep the stream; the token's expiry still ends it.
      this.logger.debug(`Presence viewer check failed: ${String(error)}`);
      return true;
    }
  }

  private endLocally(ended: StreamsEnded): void {
    for (const id of ended.sessionIds) this.endedSessions.next(id);
    for (const id of ended.userIds) this.endedUsers.next(id);
  }

  /** Here at once, and on the other instances through Redis (this one hears its own message again, harmlessly). */
  private async endStreams(ended: StreamsEnded): Promise<void> {
    if (ended.sessionIds.length === 0 && ended.userIds.length === 0) return;
    this.endLocally(ended);
    const client = this.redis.client;
    if (!client || !this.redis.available) return;
    try {
      await client.publish(this.endChannel, JSON.stringify(ended));
    } catch (error) {
      this.logger.warn(`Could not announce ended presence streams through Redis: ${String(error)}`);
    }
  }

  async publish(change: PresenceChange): Promise<void> {
    const client = this.redis.client;
    if (client && this.subscriber && this.redis.available) {
      try {
        await client.publish(this.channel, JSON.stringify(change));
        return;
      } catch (error) {
        this.logger.warn(`Presence through Redis failed, delivering on this instance only: ${String(error)}`);
      }
    }
    this.changes.next(change);
  }
}
