// Owns the order of an orderly stop. Nest closes the HTTP server only after the
// beforeApplicationShutdown hooks, and the connection pools right after that, so this hook closes
// the server itself (no new connections, in-flight requests run to completion, new requests on
// kept-alive connections get 503 and responses carry `Connection: close`), then waits for the
// after-response work those requests left (DomainEvents.drain), all within main.ts's 9.5 s deadline.
import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import { DomainEvents } from '../events/domain-events.service';
import { requestScopeOf } from './request-scope';
import { settleWithin } from './settle-within';

/** While the server closes, connections that have gone idle are closed this often, from a moment on. */
const IDLE_SWEEP_DELAY_MS = 1000;
const IDLE_SWEEP_MS = 100;

/** Closing the server and draining after-response work fit inside main.ts's 9.5 s hard deadline. */
const SHUTDOWN_BUDGET_MS = 8500;
/** Requests still running this long after the close began are left to the hard deadline. */
const HTTP_CLOSE_MAX_MS = 6500;

@Injectable()
export class HttpShutdown implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('HttpShutdown');
  private closing = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly events: DomainEvents,
  ) {}

  /** Responses sent while the server closes ask the client to drop the connection. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    const scope = fastify ? requestScopeOf(fastify) : undefined;
    scope?.beforeSend((_request, reply) => {
      if (this.closing) void reply.header('connection', 'close');
    });
  }

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
    this.logger.log(`HTTP server closed; waiting for ${this.events.inFlight} after-response task(s)`);
    await this.events.drain(deadline - Date.now());
  }
}
