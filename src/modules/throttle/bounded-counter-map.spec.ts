import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedCounterMap } from './bounded-counter-map';

interface Counter {
  hits: number;
  limit: number;
  expiresAt: number;
}

const NOW = 1_000_000;

function map(capacity: number): BoundedCounterMap<Counter> {
  return new BoundedCounterMap<Counter>(capacity, (c) => ({
    restricted: c.hits > c.limit,
    hits: c.hits,
    expiresAt: c.expiresAt,
  }));
}

describe('BoundedCounterMap', () => {
  it('never holds more entries than its capacity, whatever the flood', () => {
    const m = map(1_000);
    for (let i = 0; i < 50_000; i++) m.set(`flood-${i}`, { hits: 1, limit: 10, expiresAt: NOW + 60_000 }, NOW);
    assert.ok(m.size <= 1_000, `size ${m.size}`);
  });

  it('keeps a counter that is over its limit through a flood of fresh keys', () => {
    const m = map(100);
    m.set('victim-blocked', { hits: 11, limit: 10, expiresAt: NOW + 60_000 }, NOW);
    for (let i = 0; i < 10_000; i++) m.set(`flood-${i}`, { hits: 1, limit: 10, expiresAt: NOW + 60_000 }, NOW);
    assert.deepEqual(m.get('victim-blocked'), { hits: 11, limit: 10, expiresAt: NOW + 60_000 });
  });

  it('evicts expired entries first, then the fewest hits, then the soonest expiry', () => {
    const m = map(4);
    m.set('expired', { hits: 9, limit: 10, expiresAt: NOW - 1 }, NOW);
    m.set('busy', { hits: 8, limit: 10, expiresAt: NOW + 1_000 }, NOW);
    m.set('quiet-late', { hits: 1, limit: 10, expiresAt: NOW + 9_000 }, NOW);
    m.set('quiet-soon', { hits: 1, limit: 10, expiresAt: NOW + 1_000 }, NOW);
    m.set('new-1', { hits: 1, limit: 10, expiresAt: NOW + 60_000 }, NOW);
    assert.equal(m.has('expired'), false, 'the expired entry went first');
    assert.equal(m.size, 4);
    m.set('new-2', { hits: 1, limit: 10, expiresAt: NOW + 60_000 }, NOW);
    assert.equal(m.has('quiet-soon'), false, 'fewest hits, soonest expiry');
    assert.ok(m.has('busy') && m.has('quiet-late') && m.has('new-1') && m.has('new-2'));
  });

  it('gives up a restricted entry only when every entry is restricted, the least restricted first', () => {
    const m = map(3);
    m.set('a', { hits: 20, limit: 10, expiresAt: NOW + 3_000 }, NOW);
    m.set('b', { hits: 11, limit: 10, expiresAt: NOW + 2_000 }, NOW);
    m.set('c', { hits: 11, limit: 10, expiresAt: NOW + 1_000 }, NOW);
    m.set('d', { hits: 1, limit: 10, expiresAt: NOW + 60_000 }, NOW);
    assert.equal(m.has('c'), false);
    assert.ok(m.has('a') && m.has('b') && m.has('d'));
    m.set('e', { hits: 1, limit: 10, expiresAt: NOW + 60_000 }, NOW);
    assert.equal(m.has('d'), false, 'the unrestricted entry goes before any restricted one');
    assert.ok(m.has('a') && m.has('b') && m.has('e'));
  });

  it('updates an existing key in place without evicting anything', () => {
    const m = map(2);
    m.set('a', { hits: 1, limit: 10, expiresAt: NOW + 60_000 }, NOW);
    m.set('b', { hits: 1, limit: 10, expiresAt: NOW + 60_000 }, NOW);
    m.set('a', { hits: 2, limit: 10, expiresAt: NOW + 60_000 }, NOW);
    assert.equal(m.size, 2);
    assert.equal(m.get('a')?.hits, 2);
  });
});
