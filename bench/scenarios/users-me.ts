// GET /users/me with a bearer token, beside the two baselines answering the same JSON: bare
// Fastify (the HTTP floor) and a minimal NestJS app on the Fastify adapter (the framework floor).
import { API } from '../lib/http';
import { CONCURRENCY } from '../lib/options';
import { accessTokens, bearerRequests } from '../lib/seed';
import type { Scenario } from './scenario';

export const usersMe: Scenario = {
  name: 'me',
  async run(phase) {
    const requests = bearerRequests(`${API}/users/me`, accessTokens(phase.seed));
    for (const connections of CONCURRENCY) {
      await phase.httpBaseline('fastify', connections);
      await phase.httpBaseline('nest', connections);
      await phase.measure(
        'users/me',
        `GET ${API}/users/me`,
        { connections, durationSec: phase.d.fast, requests },
        { warmupSec: phase.d.warmup },
      );
    }
  },
};
