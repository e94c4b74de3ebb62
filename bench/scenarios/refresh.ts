// POST /auth/refresh: each connection follows its own session's rotating token chain.
import { API, TokenPair } from '../lib/http';
import { ClientRequests, jsonRequest } from '../lib/load';
import { CONCURRENCY } from '../lib/options';
import { ensurePairs } from '../lib/seed';
import type { Scenario } from './scenario';

export const refresh: Scenario = {
  name: 'refresh',
  async run(phase) {
    const pairs = await ensurePairs(phase.baseUrl, phase.seed, 64);
    const chains = pairs.map((p) => ({ token: p.refreshToken, failures: 0 }));
    const requests = (index: number): ClientRequests => {
      const chain = chains[index];
      return [
        jsonRequest('POST', `${API}/auth/refresh`, {
          body: () => ({ refreshToken: chain.token }),
          onResponse: (status, body) => {
            if (status === 200) chain.token = (JSON.parse(body) as TokenPair).refreshToken;
            else chain.failures += 1;
          },
        }),
      ];
    };
    for (const connections of CONCURRENCY) {
      await phase.measure(
        'refresh',
        `POST ${API}/auth/refresh`,
        { connections, durationSec: phase.d.fast, requests },
        { warmupSec: phase.d.warmup },
      );
    }
  },
};
