// Groups of one statement kind: while `maxRunning` groups are at the database, new requests wait and
// then go together, as one statement for the whole group, instead of one round trip (one write, one
// backend wake-up, one commit) each. A request that finds a free slot goes at once and alone, so
// grouping costs nothing when there is no queue: it appears only under concurrency, where the
// requests would have waited for the database anyway. Requests with the same key never share a
// group (the second waits for the next), so a group holds each key at most once.
// Used by refresh rotation (src/modules/tokens/refresh-rotation.service.ts).

/** Runs one group: one promise per item, in the items' order. */
export type GroupRunner<I, R> = (items: I[]) => Promise<R>[];

interface Waiting<I, R> {
  item: I;
  settle: (result: Promise<R>) => void;
}

export class StatementGroups<I, R> {
  private readonly waiting: Waiting<I, R>[] = [];
  private running = 0;

  constructor(
    private readonly run: GroupRunner<I, R>,
    private readonly keyOf: (item: I) => string,
    private readonly maxRunning: number,
    private readonly maxGroup: number,
  ) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve) => {
      this.waiting.push({ item, settle: resolve });
      this.next();
    });
  }

  private next(): void {
    while (this.running < this.maxRunning && this.waiting.length > 0) {
      const group = this.takeGroup();
      this.running += 1;
      let results: Promise<R>[];
      try {
        results = this.run(group.map((waiting) => waiting.item));
      } catch (error) {
        results = group.map(() => Promise.reject(error));
      }
      group.forEach((waiting, i) =>
        waiting.settle(results[i] ?? Promise.reject(new Error('no result for a grouped item'))),
      );
      void Promise.allSettled(results).then(() => {
        this.running -= 1;
        this.next();
      });
    }
  }

  /** The longest-waiting items, up to maxGroup, each key once; the rest keep their place. */
  private takeGroup(): Waiting<I, R>[] {
    const group: Waiting<I, R>[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < this.waiting.length && group.length < this.maxGroup;) {
      const key = this.keyOf(this.waiting[i].item);
      if (keys.has(key)) {
        i += 1;
        continue;
      }
      keys.add(key);
      group.push(...this.waiting.splice(i, 1));
    }
    return group;
  }
}
