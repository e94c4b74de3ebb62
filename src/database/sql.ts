// How repositories talk to PostgreSQL (the one rule, applied in every src/modules/**/*.repository.ts):
//
// 1. Each table has one entity (`*.entity.ts`, listed in data-source.ts ENTITIES) and one owning
//    module. The entity is the schema's single description in code: property = camelCase of the
//    column, the column's type and nullability. Only the owning module's repository reads or writes
//    the table; other modules ask the owner's exported service (e.g. MailOutbox.backlog()).
// 2. What TypeORM says as it is (insert a row, find by key or filter, a conditional UPDATE, a
//    page with its count) uses the entity's Repository API or query builder (users, auth_events).
// 3. What needs one statement TypeORM cannot express (UPDATE … RETURNING, a CTE, FOR UPDATE SKIP
//    LOCKED, ON CONFLICT, advisory locks) is raw SQL through the DataSource or the caller's
//    EntityManager, and its rows come back through `rows()` / `row()` below, typed by the entity
//    (computed values such as counts are typed at the call): no hand-typed row interfaces, no
//    hand mapping of snake_case in each repository.
// 4. Batched maintenance (cleanup, retention) goes through `deleteBatch()` / `updateBatch()`.
//    The statement of the hottest path (a refresh's) goes to the DataSource's pg pool itself
//    (`pooled()`): the same connections and bounds, without a TypeORM query runner per statement.
//    A statement every sign-in makes, which the query builder would make several times dearer
//    than the statement itself, is written as a statement too (the account lookup and the
//    last-login stamp, UsersRepository).
// 5. Schema changes only through a new migration (src/database/migrations), never an edited one.

import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * A data-modifying statement that a repository runs as a CTE of its own statement, so that both cost
 * one round trip, though the table it writes belongs to another module: that module's repository
 * builds it (e.g. AuditTrail.insertOf). Its SQL numbers its parameters from `first`; given
 * `forEachRowOf`, the name of another CTE of the statement, it writes once per row of that CTE (so
 * not at all when, say, the UPDATE it rides with matched nothing).
 */
export interface CteStatement {
  sql(first: number, forEachRowOf?: string): string;
  readonly params: readonly unknown[];
  /** The same insert as one row (when it is a single-row INSERT), for a statement that writes many such rows at once. */
  readonly row?: CteRow;
}

/** One row for `table`: its columns with their SQL types, and the row's values in that order. */
export interface CteRow {
  readonly table: string;
  readonly columns: readonly (readonly [column: string, type: string])[];
  readonly values: readonly unknown[];
}

/**
 * The INSERT of many CteRows of one table and shape, as a CTE body: row k of `rows` is written once
 * for each row of `forEachRowOf` whose column `n` is k (1-based), so only for the requests whose own
 * change happened. Each column travels as one array parameter, numbered from `first`.
 */
export function insertRowsFor(
  rows: readonly CteRow[],
  first: number,
  forEachRowOf: string,
): { sql: string; params: unknown[] } {
  const [{ table, columns }] = rows;
  const names = columns.map(([column]) => column).join(', ');
  const arrays = columns.map(([, type], i) => `$${first + i}::${type}[]`).join(', ');
  const aliases = columns.map((_, i) => `c${i}`);
  return {
    sql: `INSERT INTO ${table} (${names})
       SELECT ${aliases.map((alias) => `r.${alias}`).join(', ')}
         FROM unnest(${arrays}) WITH ORDINALITY AS r(${aliases.join(', ')}, n)
         JOIN ${forEachRowOf} ON ${forEachRowOf}.n = r.n`,
    params: columns.map((_, i) => rows.map((row) => row.values[i])),
  };
}

/** Anything that runs SQL: the DataSource, a transaction's EntityManager, or a QueryRunner. */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * The primary DataSource's own pg pool as a Queryable that answers rows (for any statement; no
 * affected count). TypeORM's DataSource.query makes, connects and releases a query runner per
 * statement: about 30 µs of CPU over pg's own 35, which a refresh paid twice. The pool is the one
 * TypeORM queries through (BoundedClient, the connect and query timeouts, the metrics); errors
 * are pg's own, which to-app-error.ts reads like TypeORM's.
 */
export function pooled(db: DataSource): Queryable {
  return {
    async query(sql, params) {
      // connect() then query() as TypeORM does, not pool.query(): that runs the query in a callback
      // of whichever request released the connection, so its time and round trip would be counted
      // in that request's context (Server-Timing, the metrics) instead of this one's.
      const client = await ((db.driver as PostgresDriver).master as Pool).connect();
      // The pool listens for a connection's 'error' only while it is idle: one lost while this
      // statement runs (PostgreSQL gone, a proxy cut) emits it here, and unheard it would crash the
      // process. The statement's own rejection carries the error; release(error) drops the client.
      let lost: Error | undefined;
      const onError = (error: Error): void => {
        lost = error;
      };
      client.on('error', onError);
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        client.removeListener('error', onError);
        // A connection that timed out is already marked unusable (BoundedClient): the pool drops it.
        client.release(lost);
      }
    },
  };
}

function camelCase(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Runs a statement and returns its rows with each snake_case column under the entity's camelCase
 * property, typed as those properties of `E` (`K`: the columns the statement returns). Statements
 * that modify and return rows are written `WITH x AS (UPDATE … RETURNING …) SELECT … FROM x`,
 * because TypeORM answers a bare UPDATE/DELETE … RETURNING with [rows, count] rather than rows.
 */
export async function rows<E, K extends keyof E & string>(
  db: Queryable,
  sql: string,
  params: unknown[] = [],
): Promise<Pick<E, K>[]> {
  const raw = (await db.query(sql, params)) as Record<string, unknown>[];
  return raw.map((row) => {
    const mapped: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(row)) mapped[camelCase(column)] = value;
    return mapped as Pick<E, K>;
  });
}

/** The first row of `rows()`, or null when the statement returned none. */
export async function row<E, K extends keyof E & string>(
  db: Queryable,
  sql: string,
  params: unknown[] = [],
): Promise<Pick<E, K> | null> {
  return (await rows<E, K>(db, sql, params))[0] ?? null;
}

async function inBatch(db: Queryable, action: string, table: string, where: string, params: unknown[], limit: number) {
  // TypeORM answers [rows, affected count] for DELETE and UPDATE on PostgreSQL.
  const result = (await db.query(
    `${action} WHERE id IN (
       SELECT id FROM ${table} WHERE ${where} LIMIT $${params.length + 1} FOR UPDATE SKIP LOCKED)`,
    [...params, limit],
  )) as [unknown[], number];
  return result[1] ?? 0;
}

/**
 * Deletes at most `limit` rows of `table` matching `where` (placeholders $1…$n for `params`),
 * skipping rows another transaction holds, so each batch is a short statement; returns how many.
 */
export function deleteBatch(
  db: Queryable,
  table: string,
  where: string,
  params: unknown[],
  limit: number,
): Promise<number> {
  return inBatch(db, `DELETE FROM ${table}`, table, where, params, limit);
}

/** Like deleteBatch(), but applies `set` to the rows instead of deleting them. */
export function updateBatch(
  db: Queryable,
  table: string,
  set: string,
  where: string,
  params: unknown[],
  limit: number,
): Promise<number> {
  return inBatch(db, `UPDATE ${table} SET ${set}`, table, where, params, limit);
}
