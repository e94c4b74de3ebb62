// Who came online or went offline, fanned out to every instance's SSE clients: through Redis
// pub/sub when REDIS_URL is set (an instance hears its own messages through its subscription), in
// process otherwise. Best effort by nature: a change published while Redis is down is delivered to
// this instance's clients only.
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { filter, interval, map, merge, Observable, Subject, takeUntil } from 'rxjs';
import { RedisService } from '../../redis/redis.service';

export type PresenceStatus = 'online' | 'offline';

export interface PresenceChange {
  userId: string;
  status: PresenceStatus;
  /** ISO 8601 */
  at: string;
}

/** A comment line now and then keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 25_000;

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

@Injectable()
export class PresenceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Presence');
  private readonly changes = new Subject<PresenceChange>();
  private readonly endedSessions = new Subject<string>();
  private readonly closing = new Subject<void>();
  private readonly channel: string;
  private subscriber: Redis | null = null;

  constructor(private readonly redis: RedisService) {
    this.channel = redis.key('presence');
  }

  async onModuleInit(): Promise<void> {
    const subscriber = this.redis.duplicate('presence');
    if (!subscriber) return;
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const change = parseChange(message);
      if (change) this.changes.next(change);
    });
    let subscribed: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (subscribed = resolve));
    const subscribe = (): void => {
      subscriber.subscribe(this.channel).then(
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
  }

  /**
   * Presence changes for one viewer, with a keep-alive comment now and then; it ends when the
   * viewer's session ends on this instance or the application shuts down.
   */
  watch(viewerSessionId: string): Observable<PresenceChange | null> {
    const ended = this.endedSessions.pipe(filter((id) => id === viewerSessionId));
    return merge(this.changes, interval(KEEP_ALIVE_MS).pipe(map(() => null))).pipe(
      takeUntil(merge(ended, this.closing)),
    );
  }

  sessionsEnded(sessionIds: string[]): void {
    for (const id of sessionIds) this.endedSessions.next(id);
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
