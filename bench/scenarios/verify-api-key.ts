// GET /auth/verify with an API key (X-API-Key) instead of a bearer token: the same answer path for
// other services, checked through the state cache (no database round trip once warm). Measured
// beside the bearer verify scenario in the same run; the targets compare the two.
import { API, request } from '../lib/http';
import { jsonRequest, type ClientRequests } from '../lib/load';
import { CONCURRENCY } from '../lib/options';
import type { Scenario } from './scenario';

/** One key per connection up to this many (the seeded account may hold 25). */
const KEYS = 16;

export const verifyApiKey: Scenario = {
  name: 'verify-api-key',
  async run(phase) {
    const keys: string[] = [];
    for (let i = 0; i < KEYS; i++) {
      const created = await request(
        phase.server.baseUrl,
        'POST',
        `${API}/api-keys`,
        { name: `bench ${i}`, scopes: ['profile'] },
        phase.seed.probeToken,
      );
      if (created.status !== 201) throw new Error(`creating an API key answered ${created.status}`);
      keys.push(created.json.key as string);
    }
    const requests = (index: number): ClientRequests => {
      const key = keys[index % keys.length];
      return [jsonRequest('GET', `${API}/auth/verify`, { headers: () => ({ 'x-api-key': key }) })];
    };
    for (const connections of CONCURRENCY) {
      await phase.measure(
        'auth/verify (api key)',
        `GET ${API}/auth/verify`,
        { connections, durationSec: phase.d.fast, requests },
        { warmupSec: phase.d.warmup },
      );
    }
  },
};
