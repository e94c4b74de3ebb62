// GET /auth/verify with a bearer token: the token check other services call, against bare Fastify.
import { API } from '../lib/http';
import { CONCURRENCY } from '../lib/options';
import { accessTokens, bearerRequests } from '../lib/seed';
import type { Scenario } from './scenario';

export const verify: Scenario = {
  name: 'verify',
  async run(phase) {
    const requests = bearerRequests(`${API}/auth/verify`, accessTokens(phase.seed));
    for (const connections of CONCURRENCY) {
      await phase.httpBaseline('fastify', connections);
      await phase.measure(
        'auth/verify',
        `GET ${API}/auth/verify`,
        { connections, durationSec: phase.d.fast, requests },
        { warmupSec: phase.d.warmup },
      );
    }
  },
};
