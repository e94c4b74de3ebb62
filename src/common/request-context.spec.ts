import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  currentRequestContext,
  holdResponseFor,
  newRequestContext,
  runDetachedFromRequest,
  runInRequestContext,
  runOutsideRequests,
} from './request-context';

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

describe('request context for work that outlives the response', () => {
  const request = {
    headers: { 'user-agent': 'a framework request, large' },
    user: { userId: 'user-1', sessionId: 'session-1' },
  };
  const context = newRequestContext('req-1');
  context.carrier = request;

  it('keeps the request id and caller for log lines, not the request context that reaches the request', () => {
    const detached = runInRequestContext(context, () => runDetachedFromRequest(() => currentRequestContext()));
    assert.ok(detached);
    assert.notEqual(detached, context);
    assert.equal(detached.requestId, 'req-1');
    assert.equal(detached.userId, 'user-1');
    assert.equal(detached.sessionId, 'session-1');
    assert.equal(detached.carrier, undefined, 'no reference to the framework request');
    assert.equal(detached.responseSent, true, 'holds no response');
  });

  it('runs a worker that serves many requests outside any of them', () => {
    assert.equal(
      runInRequestContext(context, () => runOutsideRequests(() => currentRequestContext())),
      undefined,
    );
  });

  it('adds nothing outside a request', () => {
    assert.equal(
      runDetachedFromRequest(() => currentRequestContext()),
      undefined,
    );
  });
});
