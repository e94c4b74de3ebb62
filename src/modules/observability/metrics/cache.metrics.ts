// The state cache's hit and miss counters (kept by the cache module as plain numbers), exported as
// Prometheus counters read at scrape time.
import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter } from 'prom-client';
import { CacheStats } from '../../cache/cache-stats';
import { Metrics } from './metrics.service';

@Injectable()
export class CacheMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly stats: CacheStats,
  ) {}

  onModuleInit(): void {
    const stats = this.stats;
    const registers = [this.metrics.registry];
    new Counter({
      name: 'latch_cache_requests_total',
      help: 'State cache lookups by kind of entry (session, user) and result (hit: no database query; miss)',
      labelNames: ['kind', 'result'] as const,
      registers,
      collect() {
        this.reset();
        for (const [kind, counts] of Object.entries(stats.snapshot())) {
          this.inc({ kind, result: 'hit' }, counts.hits);
          this.inc({ kind, result: 'miss' }, counts.misses);
        }
      },
    });
    new Counter({
      name: 'latch_cache_evictions_total',
      help: 'State cache entries dropped because the state changed, by kind of entry',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        this.reset();
        for (const [kind, counts] of Object.entries(stats.snapshot())) this.inc({ kind }, counts.evictions);
      },
    });
  }
}
