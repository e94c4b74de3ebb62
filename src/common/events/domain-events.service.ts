// Owns the dispatch of domain events and the work a request starts but does not wait for.
// `publish(...events)` is the one way to announce an event; listeners are provider methods marked
// @BeforeResponse or @AfterResponse (listener.decorators.ts), found here at start with Nest's
// DiscoveryService and MetadataScanner.
// - Before-response listeners start synchronously inside publish(), in the publishing request's
//   context; that request's response is held until they settle (at most 3 s, see
//   src/common/lifecycle/request-scope.ts).
// - After-response listeners start once the publishing request step has yielded (setImmediate), so
//   after the response is written, side by side.
// After-response work runs in a context of its own that keeps only the request's id and caller (for
// log lines): the request's context holds the framework request, and every promise of the work would
// keep that alive until the work ends, so a backlog of it held whole requests in memory.
// Every listener is isolated (a throw or rejection is logged with the event name and its user and
// session ids; the response and the other listeners are unaffected) and tracked until it settles,
// so that shutdown can drain it (src/common/lifecycle/http-shutdown.service.ts calls drain()). A
// before-response listener that returns no promise has settled when it returns: nothing is held or
// tracked for it, so a response whose listeners are all synchronous goes out without waiting.
//
// A small explicit dispatcher rather than @nestjs/event-emitter: the timing, the hold, the isolation
// and the tracking are all Latch's own, EventEmitter2 would only have been a name → listener map, and
// its options (async, promisify, suppressErrors) were what made a listener's timing ambiguous.
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { settleWithin } from '../lifecycle/settle-within';
import { currentRequestContext, holdResponse, runDetachedFromRequest } from '../request-context';
import type { DomainEventName } from './domain-events';
import { EVENT_LISTENERS, ListenerSpec, ListenerTiming } from './listener.decorators';

/** What publish() accepts: the event classes of domain-events.ts. */
export interface PublishableEvent {
  readonly name: DomainEventName;
}

interface Listener {
  /** `Class.method`, for logs. */
  readonly label: string;
  readonly run: (event: PublishableEvent) => unknown;
}

type Listeners = Record<ListenerTiming, Listener[]>;

const NONE: Listeners = { 'before-response': [], 'after-response': [] };

function idsOf(event: unknown): string {
  if (!event || typeof event !== 'object') return '';
  const { userId, sessionId, sessionIds } = event as { userId?: unknown; sessionId?: unknown; sessionIds?: unknown };
  const sessions = sessionId ? String(sessionId) : Array.isArray(sessionIds) ? sessionIds.join(' ') : '';
  const ids = [userId ? `user ${String(userId)}` : '', sessions ? `session ${sessions}` : ''];
  return ids.filter(Boolean).join(', ');
}

@Injectable()
export class DomainEvents implements OnModuleInit {
  private readonly logger = new Logger('DomainEvents');
  private readonly pending = new Set<Promise<void>>();
  /** Listeners by event name or event class, as their decorators named them. */
  private readonly listeners = new Map<unknown, Listeners>();
  /** listenersOf() for events with listeners under both their name and their class, merged once. */
  private readonly merged = new Map<unknown, Listeners>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (!wrapper.isDependencyTreeStatic() || !instance || typeof instance !== 'object' || seen.has(instance))
        continue;
      seen.add(instance);
      const prototype: unknown = Object.getPrototypeOf(instance);
      if (!prototype || typeof prototype !== 'object') continue;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method: unknown = Reflect.get(prototype, name);
        if (typeof method !== 'function') continue;
        const specs = Reflect.getMetadata(EVENT_LISTENERS, method) as ListenerSpec[] | undefined;
        for (const spec of specs ?? []) {
          this.add(spec, {
            label: `${instance.constructor.name}.${name}`,
            run: (event) => method.call(instance, event),
          });
        }
      }
    }
  }

  /** Announces `events`, in order, to their listeners (see the header for when each kind runs). */
  publish(...events: PublishableEvent[]): void {
    for (const event of events) this.dispatch(event);
  }

  /** Tracks a piece of after-response work that did not come from an event. */
  track(label: string, work: () => unknown): Promise<void> {
    return runDetachedFromRequest(() => this.isolate(label, undefined, work));
  }

  /** Number of after-response tasks still running (for tests and diagnostics). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Waits until no tracked work is left, including work started by work, or the timeout. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await settleWithin([...this.pending], left))) {
        this.logger.error(`Shutdown deadline: ${this.pending.size} after-response task(s) abandoned`);
        return;
      }
    }
  }

  private add(spec: ListenerSpec, listener: Listener): void {
    this.merged.clear();
    for (const selector of spec.events) {
      const entry = this.listeners.get(selector) ?? { 'before-response': [], 'after-response': [] };
      entry[spec.timing].push(listener);
      this.listeners.set(selector, entry);
    }
  }

  /** The listeners named by the event's name and by its class (each once). */
  private listenersOf(event: PublishableEvent): Listeners {
    const byName = this.listeners.get(event.name);
    const byClass = this.listeners.get(event.constructor);
    if (!byName || !byClass) return byName ?? byClass ?? NONE;
    let both = this.merged.get(event.constructor);
    if (!both) {
      const merge = (timing: ListenerTiming) => [...new Set([...byName[timing], ...byClass[timing]])];
      both = { 'before-response': merge('before-response'), 'after-response': merge('after-response') };
      this.merged.set(event.constructor, both);
    }
    return both;
  }

  private dispatch(event: PublishableEvent): void {
    const listeners = this.listenersOf(event);
    const request = currentRequestContext();
    for (const listener of listeners['before-response']) {
      const pending = this.runBeforeResponse(listener, event);
      if (pending && request) holdResponse(request, pending);
    }

    const after = listeners['after-response'];
    if (after.length > 0) {
      void this.track(event.name, async () => {
        await new Promise<void>((resolve) => setImmediate(resolve)); // the publishing step ends first
        await Promise.all(
          after.map(({ label, run }) => this.isolate(`${event.name} → ${label}`, event, () => run(event))),
        );
      });
    }
  }

  /** Runs a listener now; returns its tracked promise, or undefined when it finished (or threw) synchronously. */
  private runBeforeResponse(listener: Listener, event: PublishableEvent): Promise<void> | undefined {
    let result: unknown;
    try {
      result = listener.run(event);
    } catch (error) {
      this.logFailure(`${event.name} → ${listener.label}`, event, error);
      return undefined;
    }
    if (!result || typeof (result as { then?: unknown }).then !== 'function') return undefined;
    return this.isolate(`${event.name} → ${listener.label}`, event, () => result);
  }

  private logFailure(label: string, event: unknown, error: unknown): void {
    const context = idsOf(event);
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error(
      `${label} failed${context ? ` (${context})` : ''}: ${message}`,
      error instanceof Error ? error.stack : undefined,
    );
  }

  /** Runs `work`, logs its failure with context instead of throwing, and tracks it until it settles. */
  private isolate(label: string, event: unknown, work: () => unknown): Promise<void> {
    const promise = (async () => {
      await work();
    })().catch((error: unknown) => this.logFailure(label, event, error));
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
    return promise;
  }
}
