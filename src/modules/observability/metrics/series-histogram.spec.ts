import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { SeriesHistogram } from './series-histogram';

const BUCKETS = [0.005, 0.01, 0.1, 1];
const OBSERVED: [string, string, number][] = [
  ['GET', '200', 0.001],
  ['GET', '200', 0.005], // on a bound: counted in that bucket (le is "less than or equal")
  ['GET', '200', 0.05],
  ['POST', '401', 0.3],
  ['GET', '200', 7], // beyond the last bound: +Inf only
];

describe('SeriesHistogram', () => {
  it('renders on /metrics exactly as prom-client would render the same observations', async () => {
    const ours = new Registry();
    const fast = new SeriesHistogram('duration_seconds', 'help text', ['method', 'status_code'], BUCKETS, ours);
    const theirs = new Registry();
    const reference = new Histogram({
      name: 'duration_seconds',
      help: 'help text',
      labelNames: ['method', 'status_code'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    for (const [method, status, value] of OBSERVED) {
      fast.observe(fast.seriesOf({ method, status_code: status }), value);
      reference.observe({ method, status_code: status }, value);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(await ours.metrics(), /duration_seconds_bucket\{le="0\.005",method="GET",status_code="200"\} 2/);
  });

  it('keeps one series per label set, and forgets them on reset', async () => {
    const registry = new Registry();
    const fast = new SeriesHistogram('d', 'h', ['route'], BUCKETS, registry);
    assert.equal(fast.seriesOf({ route: '/a' }), fast.seriesOf({ route: '/a' }));
    fast.observe(fast.seriesOf({ route: '/a' }), Number.NaN); // ignored, as a bad reading
    assert.equal(fast.seriesOf({ route: '/a' }).count, 0);
    fast.observe(fast.seriesOf({ route: '/a' }), 0.2);
    assert.match(await registry.metrics(), /d_count\{route="\/a"\} 1/);
    registry.resetMetrics();
    assert.doesNotMatch(await registry.metrics(), /d_count/);
  });
});
