// The pg client the pool builds (data-source.ts passes it as `extra.Client`): pg's own client, except
// that a query that hits the client-side `query_timeout` also ends its connection. pg alone only
// fails the caller and keeps the connection, whose hung statement still blocks it: the next query
// on it (TypeORM's ROLLBACK after a COMMIT that never answered, or the next request once it is back
// in the pool) would wait a whole timeout again. Ending it fails those at once and makes the pool
// drop it (a client that is not queryable is never put back).
//
// It also prepares the statements the service runs again and again (PostgreSQL parses and plans a
// named statement once per connection, and pg then sends only its parameters), unless the pool's
// options say `preparedStatements: false` (DB_PREPARED_STATEMENTS, for a pooler that cannot carry
// them). Only statements with parameters are candidates: they already use the extended protocol,
// so each is one statement, and naming it changes nothing but where its plan is kept.
import { Client, ClientConfig } from 'pg';

/** The message pg gives a query whose `query_timeout` fired. */
export const QUERY_READ_TIMEOUT = 'Query read timeout';

function isReadTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === QUERY_READ_TIMEOUT;
}

/** How many distinct statement texts get a name, over the whole process (each connection prepares only what it runs). */
const MAX_PREPARED = 256;
/** A text is prepared the second time it is seen: one-off statements (a long IN list, say) never take a name. */
const MAX_SEEN_ONCE = 1000;

const preparedNames = new Map<string, string>();
let seenOnce = new Set<string>();

/** The name `text` is prepared under, or undefined while it has been seen only once (or names ran out). */
export function preparedNameOf(text: string): string | undefined {
  const known = preparedNames.get(text);
  if (known !== undefined || preparedNames.size >= MAX_PREPARED) return known;
  if (!seenOnce.has(text)) {
    if (seenOnce.size >= MAX_SEEN_ONCE) seenOnce = new Set();
    seenOnce.add(text);
    return undefined;
  }
  seenOnce.delete(text);
  const name = `latch_${preparedNames.size + 1}`;
  preparedNames.set(text, name);
  return name;
}

export interface BoundedClientConfig extends ClientConfig {
  /** Name repeated statements (see above); on unless false. */
  preparedStatements?: boolean;
}

export class BoundedClient extends Client {
  private readonly prepares: boolean;

  constructor(config?: BoundedClientConfig) {
    super(config);
    this.prepares = config?.preparedStatements !== false;
  }

  // pg's query has many overloads (promise, callback, submittable); all pass through unchanged,
  // except that query(text, values[, callback]) runs as a named statement once its text repeats.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- only `any` says "as the overload called" in one signature
  override query(...args: unknown[]): any {
    const [text, values] = args;
    if (this.prepares && typeof text === 'string' && Array.isArray(values) && values.length > 0) {
      const name = preparedNameOf(text);
      if (name !== undefined) args.splice(0, 2, { name, text, values });
    }
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
