import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  currentRequestContext,
  newRequestContext,
  runDetachedFromRequest,
  runInRequestContext,
  runOutsideRequests,
} from './request-context';

describe('request context for work that outlives the response', () => {
  const request = { headers: { 'user-agent': 'a framework request, large' } };
  const context = newRequestContext('req-1');
  context.auth = () => ({ userId: 'user-1', sessionId: (request.headers && 'session-1') || undefined });

  it('keeps the request id and caller for log lines, not the request context that reaches the request', () => {
    const detached = runInRequestContext(context, () => runDetachedFromRequest(() => currentRequestContext()));
    assert.ok(detached);
    assert.notEqual(detached, context);
    assert.equal(detached.requestId, 'req-1');
    assert.equal(detached.userId, 'user-1');
    assert.equal(detached.sessionId, 'session-1');
    assert.equal(detached.auth, undefined, 'no closure over the framework request');
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
