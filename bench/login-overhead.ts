// `npm run bench:login-overhead [-- --logins=300] [-- --rate-limits] [-- --profile=<file.cpuprofile>]`
// What a login at concurrency 1 costs beyond its one bcrypt compare (issue 18: at most 3 ms),
// measured directly rather than as the difference of two ~200 ms figures (the bench's "c1 − compare"
// at cost 12, whose noise is larger than the target). The built service runs at bcrypt cost 4
// (NODE_ENV=test: production refuses a cost below 10) on a fresh database; one client logs in
// sequentially over keep-alive HTTP; each request's log line carries its timing breakdown
// (total, database, bcrypt); a compare at the same cost is timed in this process; and the probe
// (lib/probe.ts) counts the round trips per login, before the answer and after it.
// --rate-limits keeps the per-address and per-account limits on (as in production) and gives every
// login its own X-Forwarded-For address (TRUST_PROXY=true), so the Redis counters are on the path
// but no limit is reached.
import { compare, hash } from 'bcrypt';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cloneAccounts, openDatabaseServer } from './lib/database';
import { API, PASSWORD, request } from './lib/http';
import { LatchServer, ROOT } from './lib/processes';
import { statementDeltas } from './lib/results';

const COST = 4;
const WARMUP = 30;

interface Timing {
  totalMs: number;
  handlerMs?: number;
  dbMs: number;
  dbQueries: number;
  bcryptMs: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

const ms = (n: number): string => `${n.toFixed(2)} ms`;

async function main(): Promise<void> {
  const arg = (name: string): string | undefined =>
    process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const logins = Number(arg('logins') ?? 300);
  const rateLimits = process.argv.includes('--rate-limits');
  const profile = arg('profile'); // a file: a V8 CPU profile of the measured logins (bench/profile.ts reads it)

  const databases = await openDatabaseServer(process.env.DATABASE_URL);
  const database = await databases.create('login_overhead');
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  delete env.NODE_OPTIONS;
  Object.assign(env, {
    NODE_ENV: 'test',
    BCRYPT_ROUNDS: String(COST),
    DATABASE_URL: database.url,
    DATA_DIR: join(ROOT, '.data', `login-overhead-${process.pid}`),
    JWT_ACCESS_SECRET: randomBytes(48).toString('base64url'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    RATE_LIMIT_ENABLED: String(rateLimits),
    TRUST_PROXY: String(rateLimits),
    LOG_LEVEL: 'info',
    DB_POOL_MAX: env.DB_POOL_MAX ?? '5', // one client; the shared PostgreSQL has few connections to spare
    APP_URL: 'http://127.0.0.1',
  });
  if (env.REDIS_URL) env.REDIS_KEY_PREFIX = `latch-overhead-${process.pid}:`;

  const server = await LatchServer.start({ env, nodeFlags: [] }).catch(async (error: unknown) => {
    await databases.close();
    throw error;
  });
  const timings: Timing[] = [];
  let buffered = '';
  server.process.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"timing"') || !line.includes('/auth/login')) continue;
      try {
        const entry = JSON.parse(line) as { timing?: Timing; res?: { statusCode?: number } };
        if (entry.timing && entry.res?.statusCode === 200) timings.push(entry.timing);
      } catch {
        // not a JSON log line
      }
    }
  });

  try {
    const email = `overhead-${process.pid}@bench.example.com`;
    const registered = await request(server.baseUrl, 'POST', `${API}/auth/register`, { email, password: PASSWORD });
    if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
    // One account per login, so that no account reaches its session limit (whose revocations
    // would be measured instead).
    const accounts = await cloneAccounts(database.url, email, `overhead-${process.pid}-`, WARMUP + logins);
    let address = 0;
    const login = async (): Promise<number> => {
      const body = JSON.stringify({ email: accounts[address], password: PASSWORD });
      address += 1;
      const started = performance.now();
      const response = await fetch(`${server.baseUrl}${API}/auth/login`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(rateLimits ? { 'x-forwarded-for': `198.18.${address >> 8}.${address & 255}` } : {}),
        },
        body,
      });
      await response.arrayBuffer();
      const elapsed = performance.now() - started;
      if (response.status !== 200) throw new Error(`login answered ${response.status}`);
      return elapsed;
    };
    for (let i = 0; i < WARMUP; i++) await login();
    await new Promise((resolve) => setTimeout(resolve, 500)); // the warm-up's after-response work
    timings.length = 0;
    if (profile) await server.startProfile();
    const before = await server.snapshot();
    const client: number[] = [];
    for (let i = 0; i < logins; i++) client.push(await login());
    await new Promise((resolve) => setTimeout(resolve, 1000)); // this run's after-response work, and its log lines
    const after = await server.snapshot();
    if (profile) await server.stopProfile(profile);

    const stored = await hash(PASSWORD, COST);
    const compares: number[] = [];
    for (let i = 0; i < WARMUP + logins; i++) {
      const started = performance.now();
      await compare(PASSWORD, stored);
      if (i >= WARMUP) compares.push(performance.now() - started);
    }

    const route = `POST ${API}/auth/login`;
    const counts = after.routes[route] ?? { pg: 0, redis: 0 };
    const was = before.routes[route] ?? { pg: 0, redis: 0 };
    const p50 = (pick: (t: Timing) => number): number => percentile(timings.map(pick), 50);
    const compareP50 = percentile(compares, 50);
    console.log(
      `login overhead at c1 · bcrypt cost ${COST} · ${logins} logins · rate limits ${rateLimits ? 'on' : 'off'}`,
    );
    // On a shared machine the low percentiles show the path itself best; p50 is the figure quoted.
    console.log(
      `  client            p10 ${ms(percentile(client, 10))}, p50 ${ms(percentile(client, 50))}, p90 ${ms(percentile(client, 90))}`,
    );
    console.log(`  server total      p50 ${ms(p50((t) => t.totalMs))} (${timings.length} log lines)`);
    console.log(
      `  server database   p50 ${ms(p50((t) => t.dbMs))} in ${p50((t) => t.dbQueries)} queries (summed, side by side ones included)`,
    );
    console.log(`  server bcrypt     p50 ${ms(p50((t) => t.bcryptMs))}`);
    console.log(`  server else       p50 ${ms(p50((t) => t.totalMs - t.dbMs - t.bcryptMs))}`);
    console.log(`  compare alone     p50 ${ms(compareP50)} (in this process, cost ${COST})`);
    console.log(`  overhead          client p50 − compare p50 = ${ms(percentile(client, 50) - compareP50)}`);
    console.log(
      `                    client p10 − compare p10 = ${ms(percentile(client, 10) - percentile(compares, 10))}`,
    );
    console.log(`  server overhead   server p50 − compare p50 = ${ms(p50((t) => t.totalMs) - compareP50)}`);
    console.log(
      `  round trips/login DB ${((counts.pg - was.pg) / logins).toFixed(2)}, Redis ${((counts.redis - was.redis) / logins).toFixed(2)} (after-response work included)`,
    );
    console.log(
      `  CPU/login         ${((after.cpuMicros - before.cpuMicros) / 1000 / logins).toFixed(2)} ms in the server (all threads: bcrypt and after-response work included)`,
    );
    for (const s of statementDeltas(before.pgStatements, after.pgStatements, logins, route, 12)) {
      console.log(`    ${s.perRequest.toFixed(2)}/login  ${s.statement}`);
    }
  } finally {
    await server.stop();
    await database.drop();
    await databases.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
