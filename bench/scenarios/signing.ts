// The signing algorithm's cost: login and refresh against servers started with JWT_ALGORITHM=HS256,
// ES256 and EdDSA (same database, seed and settings), then in-process figures: CPU per token signed
// and tokens per second a jose resource server verifies (lib/token-crypto.ts). Login is bcrypt-bound,
// so the signature shows in refresh and in the server CPU per request.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { API, log, PASSWORD, request, TokenPair } from '../lib/http';
import { ClientRequests, jsonRequest } from '../lib/load';
import type { Phase } from '../lib/phase';
import { fmt } from '../lib/results';
import { Algorithm, signCpu, verifyRate } from '../lib/token-crypto';
import type { Scenario } from './scenario';

const ALGORITHMS: readonly Algorithm[] = ['HS256', 'ES256', 'EdDSA'];
const CONNECTIONS = 16;

async function loginOnce(baseUrl: string, email: string): Promise<{ status: number; json: any }> {
  return request(baseUrl, 'POST', `${API}/auth/login`, { email, password: PASSWORD });
}

/** Token pairs signed by this server, logging in seeded accounts 4 at a time. */
async function pairsFrom(phase: Phase, count: number): Promise<TokenPair[]> {
  const pairs: TokenPair[] = [];
  while (pairs.length < count) {
    const batch = await Promise.all(Array.from({ length: 4 }, () => loginOnce(phase.baseUrl, phase.seed.nextEmail())));
    for (const answer of batch) if (answer.status === 200) pairs.push(answer.json as TokenPair);
  }
  return pairs.slice(0, count);
}

async function measureServer(phase: Phase, alg: Algorithm): Promise<TokenPair[]> {
  const login = `POST ${API}/auth/login`;
  const logins = (): ClientRequests => [
    jsonRequest('POST', `${API}/auth/login`, { body: () => ({ email: phase.seed.nextEmail(), password: PASSWORD }) }),
  ];
  // The abandoned bcrypt queue is worked off before the counters are read (as the login scenario).
  const drain = async (): Promise<number> => {
    for (let sent = 1; ; sent++) {
      if ((await loginOnce(phase.baseUrl, phase.seed.templateEmail)).status !== 503 || sent > 240) return sent;
      await sleep(250);
    }
  };
  await phase.measure(
    `login ${alg}`,
    login,
    { connections: CONNECTIONS, durationSec: phase.d.bcryptLoad, timeoutSec: 60, requests: logins },
    { drain },
  );

  const pairs = await pairsFrom(phase, CONNECTIONS + 1);
  const chains = pairs.slice(1).map((p) => ({ token: p.refreshToken }));
  const refreshes = (index: number): ClientRequests => {
    const chain = chains[index % chains.length];
    return [
      jsonRequest('POST', `${API}/auth/refresh`, {
        body: () => ({ refreshToken: chain.token }),
        onResponse: (status, body) => {
          if (status === 200) chain.token = (JSON.parse(body) as TokenPair).refreshToken;
        },
      }),
    ];
  };
  await phase.measure(
    `refresh ${alg}`,
    `POST ${API}/auth/refresh`,
    { connections: CONNECTIONS, durationSec: phase.d.fast, requests: refreshes },
    { warmupSec: phase.d.warmup },
  );
  return pairs.slice(0, 1);
}

export const signing: Scenario = {
  name: 'signing',
  async run(phase) {
    const micro = (phase.report.micro ??= []);
    const signs = phase.d.fast * 2000;
    for (const alg of ALGORITHMS) {
      const secret = randomBytes(48).toString('base64url');
      const other = await phase.withServer({ JWT_ALGORITHM: alg, JWT_ACCESS_SECRET: secret });
      try {
        const [pair] = await measureServer(other, alg);
        const source = alg === 'HS256' ? { secret } : { baseUrl: other.baseUrl };
        const verified = await verifyRate(alg, pair!.accessToken, source, signs);
        micro.push({ name: 'verify', alg, value: verified.perSec, unit: 'tokens/s' });
        micro.push({ name: 'verify-cpu', alg, value: verified.cpuMsEach, unit: 'ms' });
      } finally {
        await other.server.stop();
      }
      const signed = await signCpu(alg, signs);
      micro.push({ name: 'sign-cpu', alg, value: signed.cpuMsEach, unit: 'ms' });
      micro.push({ name: 'sign', alg, value: signed.perSec, unit: 'tokens/s' });
      const verify = micro.find((m) => m.name === 'verify' && m.alg === alg)?.value;
      log(
        `signing ${alg}: ${fmt(signed.cpuMsEach * 1000, 1)} µs CPU per token signed, ` +
          `${fmt(verify, 0)} tokens/s verified by a jose resource server (one core, warm)`,
      );
    }
  },
};
