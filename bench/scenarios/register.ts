// POST /auth/register with fresh addresses: throughput against the bcrypt hash ceiling.
import { API, PASSWORD } from '../lib/http';
import { ClientRequests, jsonRequest } from '../lib/load';
import type { Scenario } from './scenario';

export const register: Scenario = {
  name: 'register',
  everyCost: true,
  async run(phase) {
    let registration = 0;
    const tag = `${process.pid}-${phase.cost}`;
    const requests = (): ClientRequests => [
      jsonRequest('POST', `${API}/auth/register`, {
        body: () => ({ email: `reg-${tag}-${registration++}@bench.example.com`, password: PASSWORD }),
      }),
    ];
    for (const connections of phase.d.bcryptConcurrency) {
      await phase.measure(
        'register',
        `POST ${API}/auth/register`,
        { connections, durationSec: phase.d.bcryptLoad, timeoutSec: 60, requests },
        { drain: phase.seed.drain },
      );
    }
  },
};
