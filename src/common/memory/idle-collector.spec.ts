import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GROWTH_BYTES, IdleCollector, MIN_INTERVAL_MS, QUIET_TICKS, startIdleCollector } from './idle-collector';

const MB = 2 ** 20;

function harness(start: { heap: number; busy: number }) {
  const state = { heap: start.heap, busy: start.busy, inFlight: 0, now: 0, calls: [] as unknown[] };
  const collector = new IdleCollector(
    (options) => {
      state.calls.push(options);
      state.heap = 50 * MB; // what a full collection leaves
    },
    () => state.heap,
    () => state.busy,
    () => state.now,
    () => state.inFlight,
  );
  return { state, collector };
}

describe('idle collector', () => {
  it('collects once the loop has been quiet for the quiet ticks, with the memory-reducing flavour', () => {
    const { state, collector } = harness({ heap: 80 * MB, busy: 0.01 });
    for (let i = 1; i < QUIET_TICKS; i++) assert.equal(collector.tick(), false);
    assert.equal(collector.tick(), true);
    assert.deepEqual(state.calls, [{ type: 'major', execution: 'sync', flavor: 'last-resort' }]);
  });

  it('never collects while the loop is busy', () => {
    const { state, collector } = harness({ heap: 150 * MB, busy: 0.6 });
    for (let i = 0; i < 20; i++) collector.tick();
    assert.equal(state.calls.length, 0);
  });

  it('never pauses a light load that is still serving requests (a tenth of the loop busy)', () => {
    const { state, collector } = harness({ heap: 150 * MB, busy: 0.9 });
    for (let i = 0; i < 4; i++) collector.tick();
    state.busy = 0.1;
    state.now += MIN_INTERVAL_MS;
    for (let i = 0; i < 20; i++) assert.equal(collector.tick(), false);
    assert.equal(state.calls.length, 0);
  });

  it('never collects while requests wait for an answer, however idle the loop (a login storm waits on bcrypt threads)', () => {
    const { state, collector } = harness({ heap: 150 * MB, busy: 0.01 });
    state.inFlight = 64;
    for (let i = 0; i < 20; i++) assert.equal(collector.tick(), false);
    state.inFlight = 0;
    for (let i = 1; i < QUIET_TICKS; i++) assert.equal(collector.tick(), false);
    assert.equal(collector.tick(), true, 'once the storm is over');
  });

  it('collects after a load that grew the heap as much as a login storm leaves (about 14 MB)', () => {
    const { state, collector } = harness({ heap: 80 * MB, busy: 0 });
    collector.collect();
    state.now += MIN_INTERVAL_MS;
    state.busy = 0.9;
    collector.tick();
    state.busy = 0.01;
    state.heap = 50 * MB + 14 * MB;
    let collected = false;
    for (let i = 0; i < QUIET_TICKS; i++) collected = collector.tick();
    assert.equal(collected, true);
  });

  it('after collect(), waits for the heap to grow before collecting again', () => {
    const { state, collector } = harness({ heap: 80 * MB, busy: 0 });
    collector.collect();
    state.now += MIN_INTERVAL_MS;
    for (let i = 0; i < 10; i++) assert.equal(collector.tick(), false);
    assert.equal(state.calls.length, 1);
  });

  it('after a collection, collects again only once a load came and went, the heap grew and the interval passed', () => {
    const { state, collector } = harness({ heap: 80 * MB, busy: 0 });
    while (!collector.tick());
    state.now += MIN_INTERVAL_MS;
    state.heap = 200 * MB;
    for (let i = 0; i < 10; i++) assert.equal(collector.tick(), false, 'no busy tick since: a steady light load');
    state.busy = 0.9;
    for (let i = 0; i < 4; i++) assert.equal(collector.tick(), false, 'busy');
    state.busy = 0.02;
    state.heap = 50 * MB + GROWTH_BYTES - 1;
    for (let i = 0; i < 4; i++) assert.equal(collector.tick(), false, 'heap has not grown enough');
    state.heap = 50 * MB + GROWTH_BYTES;
    assert.equal(collector.tick(), true, 'busy, then quiet, grown and past the interval');
    state.busy = 0.9;
    collector.tick();
    state.busy = 0;
    state.heap = 200 * MB;
    state.now += MIN_INTERVAL_MS - 1;
    for (let i = 0; i < 10; i++) assert.equal(collector.tick(), false, 'too soon after the last one');
    state.now += 1;
    assert.equal(collector.tick(), true);
    assert.equal(state.calls.length, 3);
  });

  it('starts only with a gc function (the one --expose-gc installs, or given)', (t) => {
    let collected = 0;
    const stop = startIdleCollector({
      gc: () => {
        collected += 1;
      },
    });
    assert.equal(typeof stop, 'function');
    assert.equal(collected, 1, 'the start-up collection runs at once');
    stop?.();
    if (typeof (globalThis as { gc?: unknown }).gc === 'function') return t.skip('this process runs with --expose-gc');
    assert.equal(startIdleCollector(), undefined);
  });
});
