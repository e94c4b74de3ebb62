// The database baseline: `SELECT 1` through a pool of the service's size, on the phase's database.
import { dbRoundTrip } from '../lib/baselines';
import { log } from '../lib/http';
import { CONCURRENCY } from '../lib/options';
import { fmt } from '../lib/results';
import type { Scenario } from './scenario';

export const db: Scenario = {
  name: 'db',
  async run(phase) {
    for (const connections of CONCURRENCY) {
      const result = await dbRoundTrip(phase.databaseUrl, phase.poolMax, connections, phase.d.dbMs);
      phase.report.baselines.database.push(result);
      log(
        `bare DB round trip c${connections}: ${fmt(result.perSec, 0)}/s, p50 ${fmt(result.p50, 2)} ms, p99 ${fmt(result.p99, 2)} ms`,
      );
    }
  },
};
