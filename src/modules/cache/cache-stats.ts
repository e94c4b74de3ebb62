// Hit and miss counters of the state cache, per kind of entry (session, user) and per tier, kept as
// plain numbers so the metrics module can expose them as Prometheus counters without coupling.
import { Injectable } from '@nestjs/common';

export type CacheTier = 'memory' | 'shared';

export interface CacheKindStats {
  /** Served from a cache tier, without asking PostgreSQL. */
  hits: number;
  /** Of those hits, how many came from each tier. */
  hitsByTier: Record<CacheTier, number>;
  /** Not cached: loaded from PostgreSQL. */
  misses: number;
  /** Entries dropped because the state changed (on this or another instance). */
  evictions: number;
}

@Injectable()
export class CacheStats {
  private readonly kinds = new Map<string, CacheKindStats>();

  hit(kind: string, tier: CacheTier): void {
    const stats = this.of(kind);
    stats.hits++;
    stats.hitsByTier[tier]++;
  }

  miss(kind: string): void {
    this.of(kind).misses++;
  }

  evicted(kind: string, count = 1): void {
    this.of(kind).evictions += count;
  }

  /** A copy of every counter, keyed by kind: { session: { hits, misses, ... }, user: { ... } }. */
  snapshot(): Record<string, CacheKindStats> {
    const out: Record<string, CacheKindStats> = {};
    for (const [kind, stats] of this.kinds) out[kind] = { ...stats, hitsByTier: { ...stats.hitsByTier } };
    return out;
  }

  private of(kind: string): CacheKindStats {
    let stats = this.kinds.get(kind);
    if (!stats) {
      stats = { hits: 0, hitsByTier: { memory: 0, shared: 0 }, misses: 0, evictions: 0 };
      this.kinds.set(kind, stats);
    }
    return stats;
  }
}
