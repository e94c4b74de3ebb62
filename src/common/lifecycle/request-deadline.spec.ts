import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply } from 'fastify';
import { bindRequestContext, newRequestContext, type RequestContext } from '../request-context';
import { armRequestDeadline, disarmRequestDeadline, requestsInFlight, SWEEP_MS } from './request-deadline';

function arrived(): {
  reply: FastifyReply;
  context: RequestContext;
  raw: { writableEnded: boolean; destroyed: boolean };
} {
  const context = newRequestContext('test');
  const request = {};
  bindRequestContext(request, context);
  const raw = { writableEnded: false, destroyed: false };
  const reply = { request, raw } as unknown as FastifyReply;
  armRequestDeadline(reply, context);
  return { reply, context, raw };
}

describe('requests in flight', () => {
  it('counts a request from its arrival until its response goes out, or its connection is gone', async () => {
    assert.equal(requestsInFlight(), 0);
    const answered = arrived();
    const dropped = arrived();
    const waiting = arrived();
    assert.equal(requestsInFlight(), 3);

    disarmRequestDeadline(answered.context);
    disarmRequestDeadline(answered.context);
    assert.equal(requestsInFlight(), 2, 'answered once, counted down once');

    dropped.raw.destroyed = true; // the client went away before an answer: the next sweep notices
    await sleep(SWEEP_MS * 2.5);
    assert.equal(requestsInFlight(), 1);

    disarmRequestDeadline(waiting.context);
    assert.equal(requestsInFlight(), 0);
    await sleep(SWEEP_MS * 1.5); // the sweeper stops with nothing left to watch
    assert.equal(requestsInFlight(), 0);
  });
});
