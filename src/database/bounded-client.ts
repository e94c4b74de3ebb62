// The pg client the pool builds (data-source.ts passes it as `extra.Client`): pg's own client, except
// that a query that hits the client-side `query_timeout` also ends its connection. pg alone only
// fails the caller and keeps the connection, whose hung statement still blocks it: the next query
// on it (TypeORM's ROLLBACK after a COMMIT that never answered, or the next request once it is back
// in the pool) would wait a whole timeout again. Ending it fails those at once and makes the pool
// drop it (a client that is not queryable is never put back).
import { Client } from 'pg';

/** The message pg gives a query whose `query_timeout` fired. */
export const QUERY_READ_TIMEOUT = 'Query read timeout';

function isReadTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === QUERY_READ_TIMEOUT;
}

export class BoundedClient extends Client {
  // pg's query has many overloads (promise, callback, submittable); all pass through unchanged,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- only `any` says "as the overload called" in one signature
  override query(...args: unknown[]): any {
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last] as (error: unknown, result?: unknown) => void;
      args[last] = (error: unknown, result?: unknown) => {
        if (isReadTimeout(error)) this.abandonConnection();
        callback(error, result);
      };
    }
    const result: unknown = (super.query as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if (isReadTimeout(error)) this.abandonConnection();
      });
    }
    return result;
  }

  /**
   * Ends the socket under a hung statement; pg then fails whatever was queued on it. Marking the
   * client unqueryable first (the flag pg and pg-pool read) makes the pool drop it on release even
   * before the socket's close is seen, and fails a later query on it at once.
   */
  private abandonConnection(): void {
    const self = this as unknown as { _queryable: boolean; connection?: { stream?: { destroy(): void } } };
    self._queryable = false;
    self.connection?.stream?.destroy();
  }
}
