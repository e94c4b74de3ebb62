// Owns the work a request starts but does not wait for. Every event emitted on the application's
// EventEmitter2 is dispatched here: its listeners run once the emitting request step has yielded
// (after the response is written), each one isolated (a throw or rejection is logged with the event
// and its ids, and touches neither the response nor the other listeners) and tracked, so that
// shutdown can wait for them. Work that must survive a crash (the audit trail) registers through
// `onEventBeforeResponse`: it starts at once and the emitting request's response is held until it
// has settled, so nothing a client has been told about can be lost to a SIGKILL.
import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from 'node:http';

export type EventHandler = (event: unknown) => unknown;

interface RequestWork {
  /** Durable work the response waits for. */
  held: Set<Promise<void>>;
  /** Set once the response is on its way: later durable work no longer holds it. */
  sent: boolean;
}

/** Events EventEmitter2 gives a meaning of its own; they keep its synchronous semantics. */
const INTERNAL_EVENTS = new Set(['error', 'newListener', 'removeListener']);

/** A response never waits longer than this for durable work (docs/operations.md: no request waits 10 s). */
const HOLD_MAX_MS = 3000;

/** While the server closes, connections that have gone idle are closed this often, from a moment on. */
const IDLE_SWEEP_DELAY_MS = 1000;
const IDLE_SWEEP_MS = 100;

/** Closing the server and draining after-response work fit inside main.ts's 9.5 s hard deadline. */
const SHUTDOWN_BUDGET_MS = 8500;
/** Requests still running this long after the close began are left to the hard deadline. */
const HTTP_CLOSE_MAX_MS = 6500;

function idsOf(event: unknown): string {
  if (!event || typeof event !== 'object') return '';
  const { userId, sessionId } = event as { userId?: unknown; sessionId?: unknown };
  const ids = [userId ? `user ${String(userId)}` : '', sessionId ? `session ${String(sessionId)}` : ''];
  return ids.filter(Boolean).join(', ');
}

/** Resolves when `promises` have settled or `ms` have passed, whichever comes first. */
async function settleWithin(promises: Iterable<Promise<unknown>>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(promises).then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

@Injectable()
export class AfterResponseService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('AfterResponse');
  private readonly pending = new Set<Promise<void>>();
  private readonly durable = new Map<string, { label: string; handler: EventHandler }[]>();
  private readonly requests = new AsyncLocalStorage<RequestWork>();
  private readonly byRequest = new WeakMap<FastifyRequest, RequestWork>();
  private closing = false;

  constructor(
    private readonly emitter: EventEmitter2,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    this.interceptEmit();
    this.installRequestHooks();
  }

  /**
   * Runs `handler` the moment one of `events` is emitted; when that happens inside a request, the
   * response is sent only after the handler has settled (at most HOLD_MAX_MS later).
   */
  onEventBeforeResponse(events: readonly string[], label: string, handler: EventHandler): void {
    for (const event of events) {
      const handlers = this.durable.get(event) ?? [];
      handlers.push({ label, handler });
      this.durable.set(event, handlers);
    }
  }

  /** Tracks a piece of after-response work that did not come from an event. */
  track(label: string, work: () => unknown): Promise<void> {
    return this.isolate(label, undefined, work);
  }

  /** Number of after-response tasks still running (for tests and diagnostics). */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Nest closes the HTTP server only after this hook and the connection pools right after that, so
   * this hook closes the server itself (no new connections, in-flight requests run to completion,
   * new requests on kept-alive connections get 503), then waits for the work those requests left.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + SHUTDOWN_BUDGET_MS;
    const adapter = this.adapterHost.httpAdapter;
    if (adapter) {
      this.closing = true;
      // Fastify closes the connections idle when close() starts. One whose response was already on
      // its way without "Connection: close" would then keep the server open until its keep-alive
      // timeout, so connections still idle a moment later are closed too (not at once: a request
      // that has arrived but is not parsed yet counts as idle).
      const server = adapter.getHttpServer() as Server;
      let sweeper: NodeJS.Timeout | undefined;
      const sweepLater = setTimeout(() => {
        sweeper = setInterval(() => server.closeIdleConnections?.(), IDLE_SWEEP_MS);
      }, IDLE_SWEEP_DELAY_MS);
      const closed = adapter
        .close()
        .catch((error: unknown) => this.logger.warn(`Closing the HTTP server: ${String(error)}`));
      if (!(await settleWithin([closed], HTTP_CLOSE_MAX_MS))) {
        this.logger.error(`Requests still running ${HTTP_CLOSE_MAX_MS} ms into the shutdown`);
      }
      clearTimeout(sweepLater);
      clearInterval(sweeper);
    }
    this.logger.log(`HTTP server closed; waiting for ${this.pending.size} after-response task(s)`);
    await this.drain(deadline - Date.now());
  }

  /** Waits until no after-response work is left, including work started by work, or the timeout. */
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

  private interceptEmit(): void {
    const emitter = this.emitter;
    const original = emitter.emit.bind(emitter);
    emitter.emit = ((event: string | symbol | string[], ...values: unknown[]): boolean => {
      if (typeof event !== 'string' || INTERNAL_EVENTS.has(event)) return original(event, ...values);
      return this.dispatch(event, values);
    }) as EventEmitter2['emit'];
  }

  private dispatch(name: string, values: unknown[]): boolean {
    const event = values[0];
    const durable = this.durable.get(name) ?? [];
    const work = this.requests.getStore();
    for (const { label, handler } of durable) {
      const promise = this.isolate(`${name} → ${label}`, event, () => handler(event));
      if (work && !work.sent) work.held.add(promise);
    }

    const listeners = [...this.emitter.listenersAny(), ...this.emitter.listeners(name)];
    if (listeners.length > 0) {
      const afterThisStep = new Promise<void>((resolve) => setImmediate(resolve));
      this.track(name, () =>
        afterThisStep.then(() =>
          Promise.all(
            listeners.map((listener, index) =>
              this.isolate(`${name} → listener ${listener.name || index}`, event, () =>
                listener.apply(this.emitter, values),
              ),
            ),
          ),
        ),
      );
    }
    return durable.length > 0 || listeners.length > 0;
  }

  /** Runs `work`, logs its failure with context instead of throwing, and tracks it until it settles. */
  private isolate(label: string, event: unknown, work: () => unknown): Promise<void> {
    const promise = (async () => {
      await work();
    })().catch((error: unknown) => {
      const context = idsOf(event);
      const message = error instanceof Error ? error.message : String(error);
      this.logger.error(
        `${label} failed${context ? ` (${context})` : ''}: ${message}`,
        error instanceof Error ? error.stack : undefined,
      );
    });
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
    return promise;
  }

  /** Gives each request a place for its durable work, and sends no response before that work settles. */
  private installRequestHooks(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    fastify.addHook('onRequest', (request, _reply, done) => {
      const work: RequestWork = { held: new Set(), sent: false };
      this.byRequest.set(request, work);
      this.requests.run(work, done);
    });
    fastify.addHook('onSend', async (request, reply, payload) => {
      if (this.closing) reply.header('connection', 'close');
      const work = this.byRequest.get(request);
      if (work && !work.sent) {
        work.sent = true;
        if (work.held.size > 0 && !(await settleWithin(work.held, HOLD_MAX_MS))) {
          this.logger.warn(`Response sent before its durable work finished (${request.method} ${request.url})`);
        }
      }
      return payload;
    });
  }
}
