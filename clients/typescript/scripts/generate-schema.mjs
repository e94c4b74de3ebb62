#!/usr/bin/env node
// Writes src/schema.d.ts from Latch's OpenAPI document (a URL such as http://localhost:3000/docs-json,
// or a file). With --check it writes nothing and fails when the committed file differs, so CI
// notices an API change the client's types have not caught up with.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';

const target = fileURLToPath(new URL('../src/schema.d.ts', import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const source = args.find((arg) => !arg.startsWith('--'));
if (!source) {
  console.error('usage: generate-schema.mjs <docs-json URL or file> [--check]');
  process.exit(2);
}

const document = /^https?:/.test(source)
  ? await (await fetch(source)).json()
  : JSON.parse(await readFile(source, 'utf8'));
const generated = COMMENT_HEADER + astToString(await openapiTS(document));

if (!check) {
  await writeFile(target, generated);
  console.log(`wrote ${target}`);
} else {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== generated) {
    const a = committed.split('\n');
    const b = generated.split('\n');
    const line = a.findIndex((text, i) => text !== b[i]);
    console.error(
      `${target} differs from the OpenAPI document (first at line ${line + 1}:\n` +
        `  committed: ${JSON.stringify(a[line])}\n  generated: ${JSON.stringify(b[line])}).\n` +
        'Regenerate it: `UPDATE_SDK_SCHEMA=1 npm test -- test/sdk/schema` at the repository root.',
    );
    process.exit(1);
  }
  console.log(`${target} matches the OpenAPI document`);
}
