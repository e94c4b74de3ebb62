// The bcrypt ceiling at the phase's cost, in the bench process: before the bcrypt-bound scenarios
// (with one compare's latency alone, the floor under a login) and again after them.
import { bcryptCeiling, bcryptCompareLatency } from '../lib/baselines';
import { log } from '../lib/http';
import type { Phase } from '../lib/phase';
import { fmt } from '../lib/results';
import type { Scenario } from './scenario';

async function measureCeiling(phase: Phase): Promise<ReturnType<typeof bcryptCeiling>> {
  const result = await bcryptCeiling(phase.cost, phase.d.ceilingMs);
  log(
    `bcrypt cost ${phase.cost} ceiling (${result.threads} threads): ${fmt(result.hashesPerSec)} hashes/s, ${fmt(result.comparesPerSec)} compares/s`,
  );
  return result;
}

export const ceilingBefore: Scenario = {
  name: 'ceiling',
  selectedBy: ['ceiling', 'login', 'register'],
  everyCost: true,
  async run(phase) {
    phase.bcrypt.ceilingBefore = await measureCeiling(phase);
    phase.bcrypt.compareLatency = await bcryptCompareLatency(phase.cost, phase.d.compareSamples);
    log(`bcrypt cost ${phase.cost} one compare alone: p50 ${fmt(phase.bcrypt.compareLatency.p50, 2)} ms`);
  },
};

/** Other processes can only lower a measurement: the better of the two counts. */
export const ceilingAfter: Scenario = {
  name: 'ceiling-after',
  selectedBy: ['login', 'register'],
  everyCost: true,
  async run(phase) {
    if (phase.bcrypt.ceilingBefore) phase.bcrypt.ceilingAfter = await measureCeiling(phase);
  },
};
