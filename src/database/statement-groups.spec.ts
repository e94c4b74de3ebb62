import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatementGroups } from './statement-groups';

interface Item {
  key: string;
  value: number;
}

/** A runner whose groups finish when the test says, recording what went together. */
function controlled(): {
  groups: StatementGroups<Item, number>;
  ran: number[][];
  finish(index: number, error?: Error): void;
} {
  const ran: number[][] = [];
  const finishers: ((error?: Error) => void)[] = [];
  const groups = new StatementGroups<Item, number>(
    (items) => {
      ran.push(items.map((item) => item.value));
      const done = new Promise<void>((resolve, reject) =>
        finishers.push((error) => (error ? reject(error) : resolve())),
      );
      return items.map((item) => done.then(() => item.value * 10));
    },
    (item) => item.key,
    1,
    3,
  );
  return { groups, ran, finish: (index, error) => finishers[index]!(error) };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('StatementGroups', () => {
  it('runs a request at once and alone when a slot is free', async () => {
    const { groups, ran, finish } = controlled();
    const answer = groups.submit({ key: 'a', value: 1 });
    assert.deepEqual(ran, [[1]]);
    finish(0);
    assert.equal(await answer, 10);
  });

  it('sends the requests that waited together, up to the group size, each answered with its own result', async () => {
    const { groups, ran, finish } = controlled();
    const answers = [1, 2, 3, 4, 5].map((value) => groups.submit({ key: `k${value}`, value }));
    assert.deepEqual(ran, [[1]]);
    finish(0);
    await tick();
    assert.deepEqual(ran, [[1], [2, 3, 4]]);
    finish(1);
    await tick();
    assert.deepEqual(ran, [[1], [2, 3, 4], [5]]);
    finish(2);
    assert.deepEqual(await Promise.all(answers), [10, 20, 30, 40, 50]);
  });

  it('never puts two requests with the same key in one group', async () => {
    const { groups, ran, finish } = controlled();
    const answers = [
      groups.submit({ key: 'busy', value: 1 }),
      groups.submit({ key: 'a', value: 2 }),
      groups.submit({ key: 'a', value: 3 }),
      groups.submit({ key: 'b', value: 4 }),
    ];
    finish(0);
    await tick();
    assert.deepEqual(ran, [[1], [2, 4]]);
    finish(1);
    await tick();
    assert.deepEqual(ran, [[1], [2, 4], [3]]);
    finish(2);
    assert.deepEqual(await Promise.all(answers), [10, 20, 30, 40]);
  });

  it("fails each request of a failed group with the group's error, and goes on with the next", async () => {
    const { groups, ran, finish } = controlled();
    const first = groups.submit({ key: 'a', value: 1 });
    const second = groups.submit({ key: 'b', value: 2 });
    finish(0, new Error('database gone'));
    await assert.rejects(first, /database gone/);
    await tick();
    assert.deepEqual(ran, [[1], [2]]);
    finish(1);
    assert.equal(await second, 20);
  });
});
