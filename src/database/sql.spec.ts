import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import type { RefreshSessionEntity } from '../modules/tokens/refresh-session.entity';
import { deleteBatch, pooled, row, rows, updateBatch } from './sql';

function fake(answer: unknown) {
  const calls: { sql: string; params: unknown[] }[] = [];
  return {
    calls,
    query: (sql: string, params: unknown[] = []) => {
      calls.push({ sql: sql.replace(/\s+/g, ' ').trim(), params });
      return Promise.resolve(answer);
    },
  };
}

describe('sql helpers', () => {
  it('maps snake_case columns to the entity properties', async () => {
    const expiresAt = new Date();
    const db = fake([{ id: 's1', user_id: 'u1', expires_at: expiresAt }]);
    const found = await rows<RefreshSessionEntity, 'id' | 'userId' | 'expiresAt'>(db, 'SELECT …');
    assert.deepEqual(found, [{ id: 's1', userId: 'u1', expiresAt }]);
    assert.equal(await row<RefreshSessionEntity, 'id'>(fake([]), 'SELECT …'), null);
  });

  it('deletes and updates one batch, skipping locked rows, and counts what it touched', async () => {
    const db = fake([[], 3]);
    assert.equal(await deleteBatch(db, 't', 'a < $1', [7], 500), 3);
    assert.equal(await updateBatch(db, 't', 'b = NULL', 'c', [], 10), 3);
    assert.deepEqual(db.calls, [
      {
        sql: 'DELETE FROM t WHERE id IN ( SELECT id FROM t WHERE a < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)',
        params: [7, 500],
      },
      {
        sql: 'UPDATE t SET b = NULL WHERE id IN ( SELECT id FROM t WHERE c LIMIT $1 FOR UPDATE SKIP LOCKED)',
        params: [10],
      },
    ]);
  });

  it('survives a connection lost while its pooled statement runs, and hands the pool the error', async () => {
    const lost = new Error('Connection terminated unexpectedly');
    const released: (Error | undefined)[] = [];
    // A checked-out pg client: the pool has taken its own 'error' listener off; pg emits 'error' and
    // rejects the statement when the connection ends under it.
    const client = Object.assign(new EventEmitter(), {
      query: () => {
        client.emit('error', lost); // throws if nobody listens, as it would crash the server
        return Promise.reject(lost);
      },
      release: (error?: Error) => void released.push(error),
    });
    const db = { driver: { master: { connect: () => Promise.resolve(client) } } } as unknown as DataSource;
    await assert.rejects(pooled(db).query('SELECT 1', []), lost);
    assert.deepEqual(released, [lost], 'the client is released with the error, so the pool drops it');
    assert.equal(client.listenerCount('error'), 0, 'no listener is left on a client back in the pool');
  });
});
