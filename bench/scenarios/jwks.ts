// GET /.well-known/jwks.json: what resource servers fetch to verify tokens (from memory, no database),
// against bare Fastify answering a JSON body of similar size, and /health/liveness (the pipeline's
// floor), in the same run.
import type { Scenario } from './scenario';

export const jwks: Scenario = {
  name: 'jwks',
  async run(phase) {
    const connections = 16;
    await phase.httpBaseline('fastify', connections);
    await phase.measure(
      'jwks',
      'GET /.well-known/jwks.json',
      { connections, durationSec: phase.d.fast, requests: () => [{ method: 'GET', path: '/.well-known/jwks.json' }] },
      { warmupSec: phase.d.warmup },
    );
    // The floor every route through Latch's pipeline pays (hooks, Nest router, guards), same run.
    await phase.measure(
      'liveness',
      'GET /health/liveness',
      { connections, durationSec: phase.d.fast, requests: () => [{ method: 'GET', path: '/health/liveness' }] },
      { warmupSec: phase.d.warmup },
    );
  },
};
