import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigService } from '@nestjs/config';
import { DataSource, QueryFailedError } from 'typeorm';
import type { LatchConfig } from '../config/configuration';
import { ReadReplicas } from './read-replicas';

/** A stand-in DataSource: answers the lag check with `lag`, and reads with its own name (or throws `fail`). */
function fakeDb(name: string) {
  const db = {
    name,
    isInitialized: true,
    lag: 0 as number | Error,
    fail: undefined as Error | undefined,
    query: (sql: string) => {
      if (/pg_last_xact_replay_timestamp/.test(sql)) {
        return db.lag instanceof Error ? Promise.reject(db.lag) : Promise.resolve([{ lag: db.lag }]);
      }
      return db.fail ? Promise.reject(db.fail) : Promise.resolve(name);
    },
    destroy: () => Promise.resolve(),
  };
  return db;
}

function setUp(replicaCount: number, maxLag = 10) {
  const urls = Array.from({ length: replicaCount }, (_, i) => `postgres://u@replica-${i}:5432/latch`);
  const config = {
    get: () => ({ poolMax: 2, readUrls: urls, readMaxLagSeconds: maxLag, readCheckIntervalSeconds: 60 }),
  };
  const primary = fakeDb('primary');
  const replicas = new ReadReplicas(
    config as unknown as ConfigService<LatchConfig, true>,
    primary as unknown as DataSource,
  );
  const fakes = Array.from({ length: replicaCount }, (_, i) => fakeDb(`replica-${i}`));
  const internal = replicas as unknown as { replicas: { dataSource: unknown }[] };
  internal.replicas.forEach((replica, i) => (replica.dataSource = fakes[i]));
  const where = () => replicas.read((db) => db.query('SELECT 1') as Promise<string>);
  return { replicas, fakes, where };
}

function queryError(code: string): QueryFailedError {
  return new QueryFailedError('SELECT 1', [], Object.assign(new Error('failed'), { code }));
}

describe('ReadReplicas', () => {
  it('reads on the primary when no replica is configured, or none has passed a check yet', async () => {
    assert.equal(await setUp(0).where(), 'primary');
    assert.equal(await setUp(2).where(), 'primary');
  });

  it('takes healthy replicas round-robin, and skips one that is down or lagging', async () => {
    const { replicas, fakes, where } = setUp(3, 5);
    await replicas.checkAll();
    assert.deepEqual(
      [await where(), await where(), await where(), await where()],
      ['replica-0', 'replica-1', 'replica-2', 'replica-0'],
    );
    fakes[1].lag = new Error('connection refused');
    fakes[2].lag = 6;
    await replicas.checkAll();
    assert.deepEqual(
      replicas.status().map((r) => [r.name, r.state, r.lagSeconds]),
      [
        ['replica-0', 'healthy', 0],
        ['replica-1', 'down', null],
        ['replica-2', 'lagging', 6],
      ],
    );
    assert.deepEqual([await where(), await where()], ['replica-0', 'replica-0']);
    fakes[0].lag = 7;
    await replicas.checkAll();
    assert.equal(await where(), 'primary');
    fakes[2].lag = 1;
    await replicas.checkAll();
    assert.equal(await where(), 'replica-2');
    assert.deepEqual(replicas.served, { replica: 7, primary: 1, fallback: 0 });
  });

  it('answers a read that fails on a replica from the primary, and takes the replica out until a good check', async () => {
    const { replicas, fakes, where } = setUp(1);
    await replicas.checkAll();
    fakes[0].fail = new Error('Connection terminated unexpectedly');
    assert.equal(await where(), 'primary');
    assert.equal(replicas.status()[0].state, 'down');
    fakes[0].fail = undefined;
    assert.equal(await where(), 'primary');
    await replicas.checkAll();
    assert.equal(await where(), 'replica-0');
    // A recovery conflict: the primary answers, the replica stays in rotation.
    fakes[0].fail = queryError('40001');
    assert.equal(await where(), 'primary');
    assert.equal(replicas.status()[0].state, 'healthy');
    assert.deepEqual(replicas.served, { replica: 1, primary: 1, fallback: 2 });
  });

  it("passes on a statement's own error as the primary would give it", async () => {
    const { replicas, fakes, where } = setUp(1);
    await replicas.checkAll();
    fakes[0].fail = queryError('22P02');
    await assert.rejects(where(), QueryFailedError);
    assert.equal(replicas.status()[0].state, 'healthy');
  });
});
