#!/usr/bin/env node
// `npm run build`: dist/ (ESM + .d.ts, by tsc) and dist/latch-client.browser.js, one self-contained
// ES module (openapi-fetch inlined) that a page can import as it is; then the unit tests' build.
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(`${root}dist`, { recursive: true, force: true });
rmSync(`${root}build-test`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.json`], { stdio: 'inherit' });
// tsc does not emit declaration files it only reads: the generated API types go along as they are.
copyFileSync(`${root}src/schema.d.ts`, `${root}dist/schema.d.ts`);
await build({
  entryPoints: [`${root}src/index.ts`],
  outfile: `${root}dist/latch-client.browser.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  legalComments: 'inline',
  logLevel: 'warning',
});
execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.test.json`], { stdio: 'inherit' });
