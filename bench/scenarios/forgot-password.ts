// POST /auth/password/forgot, half known addresses and half unknown (the answer and its timing
// must not tell them apart), with an SMTP server that takes 1 s per message.
import { API } from '../lib/http';
import { ClientRequests, jsonRequest } from '../lib/load';
import { CONCURRENCY } from '../lib/options';
import type { Scenario } from './scenario';

export const forgotPassword: Scenario = {
  name: 'forgot',
  async run(phase) {
    let n = 0;
    const requests = (): ClientRequests => [
      jsonRequest('POST', `${API}/auth/password/forgot`, {
        body: () => ({ email: n++ % 2 === 0 ? phase.seed.nextEmail() : `unknown-${n}@bench.example.com` }),
      }),
    ];
    for (const connections of CONCURRENCY) {
      await phase.measure(
        'forgot-password',
        `POST ${API}/auth/password/forgot`,
        { connections, durationSec: phase.d.fast, requests },
        { warmupSec: phase.d.warmup },
      );
    }
  },
};
