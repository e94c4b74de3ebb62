// The client's generated types (clients/typescript/src/schema.d.ts) must match what the running
// service documents at /docs-json; UPDATE_SDK_SCHEMA=1 rewrites them instead of checking.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestApp, TestApp } from '../utils/create-test-app';
import { CLIENT_DIR, sdkMissing } from './sdk';

const skip = sdkMissing('node_modules/openapi-typescript/package.json');

describe('client SDK types', { skip }, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t?.close());

  it('match the OpenAPI document the service serves', async () => {
    const doc = await t.root.get('/docs-json');
    assert.equal(doc.status, 200);
    const file = join(t.dataDir, 'docs.json');
    writeFileSync(file, doc.text);
    const args = [join(CLIENT_DIR, 'scripts/generate-schema.mjs'), file];
    if (process.env.UPDATE_SDK_SCHEMA !== '1') args.push('--check');
    const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  });
});
