import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from './eventually';

describe('eventually()', () => {
  it('returns the first truthy value, retrying falsy values and errors', async () => {
    let calls = 0;
    const value = await eventually(
      () => {
        calls += 1;
        if (calls === 1) throw new Error('not yet');
        return calls === 3 ? { calls } : null;
      },
      { what: 'the third call', intervalMs: 1 },
    );
    assert.deepEqual(value, { calls: 3 });
  });

  it('fails saying what it waited for and the last value it saw', async () => {
    await assert.rejects(
      eventually(() => null, { what: 'readiness 200', timeoutMs: 50, intervalMs: 10 }),
      (error: Error) => {
        assert.equal(error.name, 'AssertionError');
        assert.match(error.message, /^Timed out after \d+ ms waiting for readiness 200 \(last value: null\)$/);
        return true;
      },
    );
  });

  it('fails with the last error an attempt threw, such as a failed assertion', async () => {
    await assert.rejects(
      eventually(() => assert.equal(503, 200), { what: 'readiness 200', timeoutMs: 50, intervalMs: 10 }),
      /waiting for readiness 200 \(last error: Expected values to be strictly equal:\n\n503 !== 200/,
    );
  });

  it('fails on time even when an attempt hangs', async () => {
    const started = Date.now();
    await assert.rejects(
      eventually(() => new Promise<boolean>(() => undefined), { what: 'a hanging probe', timeoutMs: 100 }),
      /waiting for a hanging probe \(the last attempt was still running\)/,
    );
    assert.ok(Date.now() - started < 1000);
  });
});
