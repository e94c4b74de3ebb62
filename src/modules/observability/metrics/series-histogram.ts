// A Prometheus histogram for the one metric every request records (the request duration). prom-client's
// Histogram validates, copies and hashes the label object on every observation, even through a
// child from labels(): a few percent of a fast request's CPU. Here a caller takes a series once per
// label set and an observation is a bucket search and three additions. The registry reads it like
// any prom-client metric (get() answers the same values), so /metrics is unchanged.
import type { Registry } from 'prom-client';

/** One sample as the registry renders it. */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** One label set's counts: per bucket (not cumulative; the last slot is +Inf), the sum and the count. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class SeriesHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The series of one label set, made on first use; keep it rather than asking per observation. */
  seriesOf(labels: Readonly<Record<L, string>>): HistogramSeries {
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { ...labels }, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    return series;
  }

  observe(series: HistogramSeries, value: number): void {
    if (!Number.isFinite(value)) return;
    let bucket = 0;
    while (bucket < this.buckets.length && value > this.buckets[bucket]) bucket += 1;
    series.counts[bucket] += 1;
    series.sum += value;
    series.count += 1;
  }

  /** What the registry renders: cumulative buckets with `le`, then _sum and _count, per series. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; values: Sample[]; aggregator: 'sum' }> {
    const values: Sample[] = [];
    for (const series of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += series.counts[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { le: bound, ...series.labels }, value: cumulative });
      });
      cumulative += series.counts[this.buckets.length];
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...series.labels }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: series.labels, value: series.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' });
  }

  reset(): void {
    this.series.clear();
  }
}
