// POST /auth/login over the seeded accounts: at c1 (latency over one bcrypt compare) and at the
// bcrypt-bound concurrencies (throughput against the compare ceiling).
import { API } from '../lib/http';
import type { Scenario } from './scenario';

export const login: Scenario = {
  name: 'login',
  everyCost: true,
  async run(phase) {
    const { d, seed } = phase;
    const route = `POST ${API}/auth/login`;
    for (const [connections, durationSec] of [
      [1, d.loginC1] as const,
      ...d.bcryptConcurrency.map((c) => [c, d.bcryptLoad] as const),
    ]) {
      await phase.measure(
        'login',
        route,
        { connections, durationSec, timeoutSec: 60, requests: seed.loginRequests },
        { drain: seed.drain },
      );
    }
  },
};
