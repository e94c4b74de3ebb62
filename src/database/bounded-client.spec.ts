import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { preparedNameOf } from './bounded-client';

describe('preparedNameOf', () => {
  it('names a statement the second time its text is seen, and keeps that name', () => {
    const text = `SELECT $1::text AS probe -- ${randomUUID()}`;
    assert.equal(preparedNameOf(text), undefined);
    const name = preparedNameOf(text);
    assert.match(name ?? '', /^latch_\d+$/);
    assert.equal(preparedNameOf(text), name);
  });

  it('gives different texts different names', () => {
    const [a, b] = [`SELECT $1 -- ${randomUUID()}`, `SELECT $1 -- ${randomUUID()}`];
    preparedNameOf(a);
    preparedNameOf(b);
    assert.notEqual(preparedNameOf(a), preparedNameOf(b));
  });
});
