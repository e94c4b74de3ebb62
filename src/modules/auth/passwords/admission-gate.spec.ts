import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, ErrorCode } from '../../../common/errors/app-error';
import { AdmissionGate } from './admission-gate';

/** Work that finishes only when the test says so. */
function held(): { work: () => Promise<void>; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { work: () => done, finish };
}

function isOverloaded(error: unknown): boolean {
  return error instanceof AppError && error.code === ErrorCode.ServiceUnavailable && (error.retryAfter ?? 0) >= 1;
}

describe('AdmissionGate', () => {
  it('runs at most `concurrency` jobs, queues up to `queueMax`, and refuses the rest with a Retry-After', async () => {
    const gate = new AdmissionGate({ concurrency: 2, queueMax: 1, maxWaitMs: 10_000 });
    const jobs = [held(), held(), held()];
    const running = jobs.map((job) => gate.run(job.work));
    assert.deepEqual(gate.stats, { running: 2, queued: 1 });
    await assert.rejects(
      gate.run(() => Promise.resolve()),
      isOverloaded,
    );
    jobs[0].finish();
    await running[0];
    assert.deepEqual(gate.stats, { running: 2, queued: 0 }); // the waiter took the freed slot
    jobs[1].finish();
    jobs[2].finish();
    await Promise.all(running);
    assert.deepEqual(gate.stats, { running: 0, queued: 0 });
  });

  it('refuses a queued job whose turn does not come within the longest wait', async () => {
    const gate = new AdmissionGate({ concurrency: 1, queueMax: 5, maxWaitMs: 20 });
    const busy = held();
    const first = gate.run(busy.work);
    await assert.rejects(
      gate.run(() => Promise.resolve()),
      isOverloaded,
    );
    assert.deepEqual(gate.stats, { running: 1, queued: 0 });
    busy.finish();
    await first;
  });

  it('frees its slot when a job fails', async () => {
    const gate = new AdmissionGate({ concurrency: 1, queueMax: 0, maxWaitMs: 1000 });
    await assert.rejects(
      gate.run(() => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await gate.run(() => Promise.resolve('ok')), 'ok');
  });
});
