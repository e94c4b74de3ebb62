// The login storm: logins saturate the CPU while probes at c1 measure what other callers see
// meanwhile: the two health endpoints and /users/me, each with its p99 and its worst answer (max).
import { setTimeout as sleep } from 'node:timers/promises';
import { API, log } from '../lib/http';
import { ClientRequests, LoadResult, runLoad } from '../lib/load';
import { fmt, routeDelta } from '../lib/results';
import { bearerRequests } from '../lib/seed';
import type { Scenario } from './scenario';

export const storm: Scenario = {
  name: 'storm',
  async run(phase) {
    const { d, server, seed, cost } = phase;
    const connections = d.stormConnections;
    log(`login storm: c${connections} logins for ${d.storm} s; probes at c1 from second ${d.stormProbeDelay}`);
    const before = await server.snapshot();
    const sampler = phase.rssSampler();
    await phase.profile('start');
    const logins = runLoad({
      url: server.baseUrl,
      connections,
      durationSec: d.storm,
      timeoutSec: 60,
      requests: seed.loginRequests,
    });
    await sleep(d.stormProbeDelay * 1000);
    const probeSec = d.storm - 2 * d.stormProbeDelay;
    const probe = (requests: () => ClientRequests): Promise<LoadResult> =>
      runLoad({ url: server.baseUrl, connections: 1, durationSec: probeSec, requests });
    const probes: [string, Promise<LoadResult>][] = [
      ['/health/readiness', probe(() => [{ method: 'GET', path: '/health/readiness' }])],
      ['/health/liveness', probe(() => [{ method: 'GET', path: '/health/liveness' }])],
      [`${API}/users/me`, probe(() => bearerRequests(`${API}/users/me`, [seed.probeToken])(0))],
    ];
    const probeResults = await Promise.all(probes.map(([, p]) => p));
    const loginResult = await logins;
    await phase.profile(`storm-c${connections}-cost${cost}`);
    const drained = await seed.drain();
    await sleep(300);
    const after = await server.snapshot();
    const rssPeakMb = sampler.stop();
    const perRequest = (route: string, sent: number, kind: 'pg' | 'redis'): number | null =>
      sent > 0 ? routeDelta(before, after, route, kind) / sent : null;
    const loginRoute = `POST ${API}/auth/login`;
    phase.push({
      ...loginResult,
      scenario: 'storm login',
      cost,
      path: `${API}/auth/login`,
      dbPerRequest: perRequest(loginRoute, loginResult.sent + drained, 'pg'),
      backgroundDbPerSec: null,
      redisPerRequest: perRequest(loginRoute, loginResult.sent + drained, 'redis'),
      cpuMsPerRequest: null,
      rssPeakMb,
      eventLoopDelayP99Ms: after.eventLoopDelayP99Ms,
    });
    probes.forEach(([path], i) => {
      phase.push({
        ...probeResults[i],
        scenario: 'storm probe',
        cost,
        path,
        dbPerRequest: perRequest(`GET ${path}`, probeResults[i].sent, 'pg'),
        backgroundDbPerSec: null,
        redisPerRequest: perRequest(`GET ${path}`, probeResults[i].sent, 'redis'),
        cpuMsPerRequest: null,
        rssPeakMb,
        eventLoopDelayP99Ms: null,
      });
    });
    log(
      `storm event-loop delay p99 ${fmt(after.eventLoopDelayP99Ms, 1)} ms, max ${fmt(after.eventLoopDelayMaxMs, 1)} ms (${before.pgQueries} → ${after.pgQueries} DB round trips)`,
    );
  },
};
