// Issue 12, "Keep this class closed": a seeded, time-bounded property-based fuzz of every operation
// in the OpenAPI document (well-formed and malformed bodies, odd Unicode, headers, paths, query
// strings, tokens signed with the test key carrying odd claims). Every answer must keep the contract
// (see oracle.ts); afterwards the service must still be up and serving its users.
//
//   FUZZ_SEED     the seed (default fixed, so CI runs are reproducible); batch k uses FUZZ_SEED + k
//   FUZZ_SECONDS  how long to generate requests (default 60); longer runs find rarer things
//   FUZZ_RPS      at most this many requests a second (default 60), so the fuzz leaves CPU to the
//                 suite's other files running beside it
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { LoggedIn, login, registerAndLogin } from '../factories/users';
import { createTestApp, TEST_JWT_SECRET, TestApp } from '../utils/create-test-app';
import { anyRequest, DROP, Ref, type RequestSpec } from './arbitraries';
import { type Operation, operationsOf } from './openapi';
import { judge } from './oracle';
import { exchange, type WireResponse } from './wire';
import { type ResolvedRequest, World } from './world';

const DEFAULT_SEED = 20_261_205;
const RUNS_PER_BATCH = 200;
/** How long fast-check may go on shrinking a counterexample after the generation time is up. */
const SHRINK_MS = 60_000;
/** DESIGN.md bounds every answer at 10 s; a little more for the loopback and the test's own work. */
const ANSWER_TIMEOUT_MS = 12_000;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, not ${raw}`);
  return value;
}

function excerpt(text: string, max = 400): string {
  const shown = JSON.stringify(text.length > max ? text.slice(0, max) : text);
  return text.length > max ? `${shown}… (${text.length} characters)` : shown;
}

/** The symbolic request fast-check shrank to, with long strings cut. */
function summarize(spec: unknown): string {
  return JSON.stringify(spec, (_key, value: unknown) => {
    if (value === DROP) return '«left out»';
    if (value instanceof Ref) return `«${value.name}»`;
    if (typeof value === 'string' && value.length > 120) return `${value.slice(0, 120)}…(${value.length} characters)`;
    if (Array.isArray(value) && value.length > 20) return [...value.slice(0, 20), `…(${value.length} items)`];
    return value;
  });
}

function describeExchange(request: ResolvedRequest, response: WireResponse | undefined, problems: string[]): string {
  const { wire } = request;
  const lines = [
    `  ${wire.method} ${excerpt(wire.target, 300)}`,
    ...wire.headers.map(([name, value]) => `  ${name}: ${excerpt(value, 200)}`),
  ];
  if (wire.body !== undefined) lines.push(`  body: ${excerpt(wire.body.toString('utf8'), 600)}`);
  if (response) {
    lines.push(`  → ${response.status} ${response.headers['content-type'] ?? '(no content type)'}`);
    lines.push(`    ${excerpt(response.text, 600)}`);
  }
  return ['the service broke the contract:', ...problems.map((p) => `  - ${p}`), 'request:', ...lines].join('\n');
}

describe('HTTP fuzzing: every operation of the OpenAPI document keeps the contract', () => {
  let t: TestApp;
  let port: number;
  let world: World;
  let keeper: LoggedIn;
  let operations: Operation[];

  before(async () => {
    // HS256 with the test secret, so the forged tokens carrying odd claims pass the signature check and
    // reach the claim checks behind it.
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'false', BCRYPT_ROUNDS: '4', JWT_ALGORITHM: 'HS256' } });
    port = Number(new URL(t.root.baseUrl).port);
    // The keeper is never named to the fuzzer: it must simply still be served at the end.
    keeper = await registerAndLogin(t.api);
    world = await World.create(t);
    const doc = await t.root.get('/docs-json');
    assert.equal(doc.status, 200);
    operations = operationsOf(doc.body);
    assert.ok(operations.length >= 20, `only ${operations.length} operations in the OpenAPI document`);
  });
  after(() => t.close());

  it('answers every generated request within the contract and still serves its users afterwards', async () => {
    const seed = envNumber('FUZZ_SEED', DEFAULT_SEED);
    const seconds = envNumber('FUZZ_SECONDS', 60);
    const minGapMs = 1000 / Math.max(envNumber('FUZZ_RPS', 60), 0.1);
    const started = Date.now();
    const deadline = started + seconds * 1000;
    const statuses = new Map<number, number>();
    const operationsHit = new Set<string>();
    const operationsServed = new Set<string>();
    let requests = 0;
    let lastSent = 0;
    let lastFailure = '';

    const property = fc.asyncProperty(anyRequest(operations), async (spec: RequestSpec) => {
      const wait = lastSent + minGapMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      lastSent = Date.now();
      const request = world.resolve(spec, TEST_JWT_SECRET);
      let response: WireResponse;
      try {
        response = await exchange(port, request.wire, ANSWER_TIMEOUT_MS);
      } catch (error) {
        lastFailure = describeExchange(request, undefined, [(error as Error).message]);
        throw new Error(lastFailure, { cause: error });
      }
      requests++;
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      operationsHit.add(spec.operation);
      if (response.status < 300) operationsServed.add(spec.operation);
      const problems = judge(request, response, {
        tokenEndpoint: spec.operation === 'POST /api/v1/auth/token',
        secrets: [TEST_JWT_SECRET],
      });
      if (problems.length > 0) {
        lastFailure = describeExchange(request, response, problems);
        throw new Error(lastFailure);
      }
      await world.observe(spec, request, response);
    });

    for (let batch = 0; Date.now() < deadline; batch++) {
      const result = await fc.check(property, {
        seed: seed + batch,
        numRuns: RUNS_PER_BATCH,
        interruptAfterTimeLimit: Math.max(0, deadline - Date.now()) + SHRINK_MS,
        markInterruptAsFailure: false,
      });
      if (result.failed) {
        assert.fail(
          [
            `fuzz: seed ${seed}, batch ${batch} (fast-check seed ${seed + batch}): failed after ${requests} requests;` +
              ` shrunk ${result.numShrinks} times. Rerun with FUZZ_SEED=${seed}.`,
            `counterexample: ${summarize(result.counterexample?.[0])}`,
            lastFailure,
          ].join('\n'),
        );
      }
    }

    const histogram = [...statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status}×${n}`)
      .join(' ');
    console.log(
      `fuzz: seed ${seed}, ${requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s over ` +
        `${operationsHit.size}/${operations.length} operations; answers ${histogram}; ` +
        `sessions renewed ${world.repairs} times (${world.failedRepairs} failed${world.lastRepairError ? `, last: ${world.lastRepairError.slice(0, 200)}` : ''})`,
    );
    const neverServed = operations.map((op) => `${op.method} ${op.path}`).filter((op) => !operationsServed.has(op));
    if (neverServed.length > 0) console.log(`fuzz: never answered with success: ${neverServed.join(', ')}`);
    assert.equal(operationsHit.size, operations.length, 'some operations were never fuzzed');

    // Still up, still serving the users it had before.
    assert.equal((await t.root.get('/health/liveness')).status, 200);
    const me = await t.api.get('/users/me', { token: keeper.accessToken });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.id, keeper.id);
    await login(t.api, keeper);
  });
});
