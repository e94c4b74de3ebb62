// What every scenario of a phase starts from: one account registered through the API (its hash
// made by the service at the phase's cost) cloned by SQL, a signed-in token, and the login
// requests and token pairs the bcrypt scenarios share with the later ones.
import { setTimeout as sleep } from 'node:timers/promises';
import { cloneAccounts } from './database';
import { API, log, PASSWORD, request, TokenPair } from './http';
import { ClientRequests, jsonRequest } from './load';

export interface Seed {
  templateEmail: string;
  emails: string[];
  /** An access token of the template account, for probes. */
  probeToken: string;
  /** Token pairs collected from logins (the login scenario fills it; refresh and users/me use it). */
  pairs: TokenPair[];
  /** The seeded accounts in turn. */
  nextEmail(): string;
  /** One connection's login requests over the seeded accounts, keeping the first 2000 pairs. */
  loginRequests(): ClientRequests;
  /**
   * Waits until the bcrypt backlog is done: one more login answers only once the abandoned queue
   * is worked off (or, past the admission queue's wait limit, is shed with 503: then try again).
   * Answers the logins it sent.
   */
  drain(): Promise<number>;
}

export async function seedPhase(baseUrl: string, databaseUrl: string, cost: number): Promise<Seed> {
  const templateEmail = `seed-c${cost}@bench.example.com`;
  const registered = await request(baseUrl, 'POST', `${API}/auth/register`, {
    email: templateEmail,
    password: PASSWORD,
  });
  if (registered.status !== 201)
    throw new Error(`seeding: register answered ${registered.status} ${JSON.stringify(registered.json)}`);
  const emails = await cloneAccounts(databaseUrl, templateEmail, `c${cost}-u`, 500);
  const login = await request(baseUrl, 'POST', `${API}/auth/login`, { email: templateEmail, password: PASSWORD });
  if (login.status !== 200) throw new Error(`seeding: login answered ${login.status} ${JSON.stringify(login.json)}`);
  log(`seeded ${emails.length + 1} accounts`);

  let userIndex = 0;
  const pairs: TokenPair[] = [];
  const nextEmail = (): string => emails[userIndex++ % emails.length];
  return {
    templateEmail,
    emails,
    probeToken: login.json.accessToken as string,
    pairs,
    nextEmail,
    loginRequests: () => [
      jsonRequest('POST', `${API}/auth/login`, {
        body: () => ({ email: nextEmail(), password: PASSWORD }),
        onResponse: (status, body) => {
          if (status === 200 && pairs.length < 2000) {
            const parsed = JSON.parse(body) as TokenPair;
            pairs.push({ accessToken: parsed.accessToken, refreshToken: parsed.refreshToken });
          }
        },
      }),
    ],
    drain: async () => {
      const deadline = Date.now() + 60_000;
      let sent = 0;
      for (;;) {
        sent += 1;
        const answer = await request(baseUrl, 'POST', `${API}/auth/login`, {
          email: templateEmail,
          password: PASSWORD,
        });
        if (answer.status !== 503 || Date.now() > deadline) return sent;
        await sleep(250);
      }
    },
  };
}

/** At least `count` token pairs, logging in more seeded accounts (4 at a time) if needed. */
export async function ensurePairs(baseUrl: string, seed: Seed, count: number): Promise<TokenPair[]> {
  while (seed.pairs.length < count) {
    const batch = await Promise.all(
      Array.from({ length: 4 }, () =>
        request(baseUrl, 'POST', `${API}/auth/login`, { email: seed.nextEmail(), password: PASSWORD }),
      ),
    );
    for (const answer of batch) if (answer.status === 200) seed.pairs.push(answer.json as TokenPair);
  }
  return seed.pairs.slice(0, count);
}

/** Up to 64 access tokens: the probe's and those of the logins so far. */
export function accessTokens(seed: Seed): string[] {
  return [seed.probeToken, ...seed.pairs.map((p) => p.accessToken)].slice(0, 64);
}

/** GET `path` with a bearer token, one token per connection (in turn). */
export function bearerRequests(path: string, tokens: string[]): (index: number) => ClientRequests {
  return (index) => {
    const token = tokens[index % tokens.length];
    return [jsonRequest('GET', path, { headers: () => ({ authorization: `Bearer ${token}` }) })];
  };
}
