// The heap budget ships in three places that must agree (docs/operations.md, "Memory"): the flags
// of `npm start`, the image's NODE_OPTIONS and deploy/configmap.yaml's NODE_OPTIONS; the image and
// the ConfigMap also agree on MALLOC_ARENA_MAX. The bench starts the server with the `npm start`
// flags and the image's MALLOC_ARENA_MAX (bench/lib/processes.ts, shippedNodeFlags, shippedEnv).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '..', '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

function npmStartFlags(): string {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  const match = /^node((?: --[^\s]+)*) dist\/main\.js$/.exec(pkg.scripts.start);
  assert.ok(match, `package.json "start" is not "node [flags] dist/main.js": ${pkg.scripts.start}`);
  return match[1].trim();
}

describe('heap budget', () => {
  it('npm start sets an old-space and a semi-space budget, and exposes gc for the idle collector', () => {
    assert.match(npmStartFlags(), /--max-old-space-size=\d+/);
    assert.match(npmStartFlags(), /--max-semi-space-size=\d+/);
    assert.match(npmStartFlags(), /--expose-gc/);
  });

  it('the image sets the same flags through NODE_OPTIONS and starts node dist/main.js', () => {
    const dockerfile = read('Dockerfile');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    assert.equal(/NODE_OPTIONS="([^"]*)"/.exec(runtime)?.[1], npmStartFlags());
    assert.match(runtime, /^CMD \["node", "dist\/main\.js"\]$/m);
  });

  it('deploy/configmap.yaml sets the same NODE_OPTIONS', () => {
    assert.equal(/^\s+NODE_OPTIONS: (.+)$/m.exec(read('deploy/configmap.yaml'))?.[1].trim(), npmStartFlags());
  });

  it('the image and deploy/configmap.yaml set the same MALLOC_ARENA_MAX', () => {
    const dockerfile = read('Dockerfile');
    const image = /^\s+MALLOC_ARENA_MAX=(\d+)/m.exec(dockerfile.slice(dockerfile.lastIndexOf('FROM ')))?.[1];
    assert.ok(image, 'the runtime stage sets MALLOC_ARENA_MAX');
    assert.equal(/^\s+MALLOC_ARENA_MAX: '(\d+)'$/m.exec(read('deploy/configmap.yaml'))?.[1], image);
  });
});
