#!/usr/bin/env node
// `npm test`: compiles, then runs unit specs (src/**/*.spec.ts) and e2e specs (test/**/*.e2e-spec.ts)
// with Node's test runner against DATABASE_URL, or an embedded PostgreSQL when it is unset.
// Arguments narrow the run: `npm test -- test/auth` runs only files whose path contains "test/auth".
'use strict';
const { spawnSync, spawn } = require('node:child_process');
const { readdirSync, statSync, rmSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const build = join(root, '.build');

/** Compiles everything afresh; on type errors the emitted code still runs, but the run fails at the end. */
function compile() {
  // A spec renamed or deleted since the last run must not keep running from a stale output.
  rmSync(build, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  return result.status === 0;
}

function findSpecs(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findSpecs(path, out);
    else if (/\.(e2e-)?spec\.js$/.test(name)) out.push(path);
  }
  return out;
}

async function main() {
  const typesOk = compile();
  const filters = process.argv.slice(2).map((f) => f.replace(/\.ts$/, ''));
  const specs = [...findSpecs(join(build, 'src')), ...findSpecs(join(build, 'test'))]
    .filter((file) => {
      const source = relative(build, file).replace(/\.js$/, '');
      return filters.length === 0 || filters.some((f) => source.includes(f));
    })
    .sort();
  if (specs.length === 0) {
    console.error('No test files matched.');
    process.exit(1);
  }

  const env = { ...process.env, NODE_ENV: 'test' };
  let embedded;
  if (!env.DATABASE_URL) {
    const { startEmbeddedPostgres } = require(join(build, 'src/database/embedded-postgres.js'));
    const dataDir = join(root, '.data', `test-${process.pid}`);
    process.stdout.write('DATABASE_URL is not set: starting an embedded PostgreSQL for the tests\n');
    embedded = await startEmbeddedPostgres({ dataDir, ephemeral: true });
    env.DATABASE_URL = embedded.url;
    embedded.dataDir = dataDir;
  }
  if (!env.REDIS_URL) {
    process.stdout.write('REDIS_URL is not set: tests that need Redis will be reported as skipped\n');
  }

  const concurrency = env.TEST_CONCURRENCY ?? '2';
  const child = spawn(
    process.execPath,
    [
      '--enable-source-maps',
      '--test',
      `--test-concurrency=${concurrency}`,
      // A file whose tests have all finished exits even if a socket or timer was left open (a leak
      // is still a bug to fix, but it must not hold the whole run until CI's limit).
      '--test-force-exit',
      '--test-reporter=spec',
      ...specs,
    ],
    { stdio: 'inherit', env },
  );
  const code = await new Promise((resolve) =>
    child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))),
  );
  if (embedded) {
    await embedded.stop();
    rmSync(embedded.dataDir, { recursive: true, force: true });
  }
  if (!typesOk) {
    process.stderr.write(
      '\nThe TypeScript compiler reported errors (above): the run fails even if the tests passed.\n',
    );
    process.exit(code || 2);
  }
  process.exit(code);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
