// The in-memory counters used while Redis is absent or down, with a cap: a flood of fresh keys
// (addresses, account names) can neither grow memory without bound nor push out the counter of
// a client or account that is currently held back. When the map is full, expired entries go
// first, then the least restricted ones (fewest hits, soonest expiry), a batch at a time so the
// scan is paid rarely; an entry over its limit goes only when nothing else can. (A map that is
// full and has only one or two unrestricted entries pays a scan per new key: that takes ~100,000
// distinct clients each over its limit at once.)

export interface CounterStanding {
  /** Over its limit (refused, or made to wait) right now. */
  restricted: boolean;
  /** How close to its limit: more hits, more worth keeping. */
  hits: number;
  /** When the entry stops mattering (ms since the epoch). */
  expiresAt: number;
}

/** Share of the capacity freed in one eviction pass. */
const EVICTION_BATCH = 0.01;

export class BoundedCounterMap<V> {
  private readonly entries = new Map<string, V>();
  private readonly batch: number;

  constructor(
    readonly capacity: number,
    private readonly standing: (value: V, now: number) => CounterStanding,
  ) {
    this.batch = Math.max(1, Math.floor(capacity * EVICTION_BATCH));
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Stores the value, making room first when the key is new and the map is full. */
  set(key: string, value: V, now = Date.now()): void {
    if (!this.entries.has(key) && this.entries.size >= this.capacity) this.makeRoom(now);
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  evictExpired(now = Date.now()): void {
    for (const [key, value] of this.entries) if (this.standing(value, now).expiresAt <= now) this.entries.delete(key);
  }

  private makeRoom(now: number): void {
    this.evictExpired(now);
    if (this.entries.size < this.capacity) return;
    const ranked = [...this.entries].map(([key, value]) => ({ key, ...this.standing(value, now) }));
    // Unrestricted before restricted; then fewest hits; then soonest to expire.
    ranked.sort((a, b) => Number(a.restricted) - Number(b.restricted) || a.hits - b.hits || a.expiresAt - b.expiresAt);
    const free = ranked.filter((entry) => !entry.restricted).length;
    // Restricted entries go only when none other is left, and then a batch of the least restricted,
    // so that a map full of them does not cost a full scan on every new key.
    const count = free > 0 ? Math.min(this.batch, free) : this.batch;
    for (const entry of ranked.slice(0, count)) this.entries.delete(entry.key);
  }
}
