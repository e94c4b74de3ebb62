import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdResponseFor, newRequestContext, runInRequestContext } from './request-context';

describe('work a response waits for instead of its caller', () => {
  it('adds the work to the open request, and lets the caller go on at once', async () => {
    const context = newRequestContext('r1');
    let finish!: () => void;
    const work = new Promise<void>((resolve) => (finish = resolve));
    let returned = false;
    await runInRequestContext(context, () => holdResponseFor('test work', work)).then(() => (returned = true));
    assert.equal(returned, true, 'the caller did not wait');
    assert.equal(context.held?.size, 1);
    finish();
  });

  it('hands the work back to await when no response is left to hold', async () => {
    const sent = newRequestContext('r2');
    sent.responseSent = true;
    const failing = Promise.reject(new Error('expected by the test'));
    await assert.rejects(runInRequestContext(sent, () => holdResponseFor('test work', failing)));
    assert.equal(sent.held?.size ?? 0, 0);
    await assert.rejects(holdResponseFor('test work', Promise.reject(new Error('no request'))));
  });

  it('logs a failure of held work instead of rejecting the response', async () => {
    const context = newRequestContext('r3');
    await runInRequestContext(context, () => holdResponseFor('test work', Promise.reject(new Error('expected'))));
    const results = await Promise.allSettled(context.held ?? []);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled'],
    );
  });
});
