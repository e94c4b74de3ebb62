// The memory flags ship in three places that must agree (docs/operations.md, "Memory"): the flags
// of `npm start`; the image, which sets those allowed in NODE_OPTIONS there (the heap budget) and
// passes the rest (V8's compiler-tier and pretenuring flags) on its CMD; and deploy/configmap.yaml's NODE_OPTIONS, which
// replaces the image's. The image and the ConfigMap also agree on glibc's MALLOC_* settings. The
// bench starts the server with the `npm start` flags and the image's MALLOC_* settings
// (bench/lib/processes.ts, shippedNodeFlags, shippedEnv).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '..', '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

function npmStartFlags(): string[] {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  const match = /^node((?: --[^\s]+)*) dist\/main\.js$/.exec(pkg.scripts.start);
  assert.ok(match, `package.json "start" is not "node [flags] dist/main.js": ${pkg.scripts.start}`);
  return match[1].split(' ').filter((flag) => flag !== '');
}

const allowedInNodeOptions = (flag: string): boolean => process.allowedNodeEnvironmentFlags.has(flag.split('=')[0]);
/** The `npm start` flags NODE_OPTIONS accepts, and those only a command line does. */
const nodeOptionsFlags = (): string => npmStartFlags().filter(allowedInNodeOptions).join(' ');
const commandLineFlags = (): string[] => npmStartFlags().filter((flag) => !allowedInNodeOptions(flag));

describe('memory flags', () => {
  it('npm start sets an old-space and a semi-space budget, exposes gc for the idle collector, runs two compiler tiers and allocates without pretenuring', () => {
    const flags = npmStartFlags();
    assert.ok(flags.some((flag) => /^--max-old-space-size=\d+$/.test(flag)));
    assert.ok(flags.some((flag) => /^--max-semi-space-size=\d+$/.test(flag)));
    assert.ok(flags.includes('--expose-gc'));
    assert.deepEqual(commandLineFlags(), ['--no-sparkplug', '--no-maglev', '--no-allocation-site-pretenuring']);
  });

  it('the image sets the same flags: the heap budget through NODE_OPTIONS, the rest on its CMD', () => {
    const dockerfile = read('Dockerfile');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    assert.equal(/NODE_OPTIONS="([^"]*)"/.exec(runtime)?.[1], nodeOptionsFlags());
    const cmd = ['node', ...commandLineFlags(), 'dist/main.js'].map((part) => `"${part}"`).join(', ');
    assert.ok(runtime.split('\n').includes(`CMD [${cmd}]`), `the image runs CMD [${cmd}]`);
  });

  it('deploy/configmap.yaml sets the same NODE_OPTIONS', () => {
    assert.equal(/^\s+NODE_OPTIONS: (.+)$/m.exec(read('deploy/configmap.yaml'))?.[1].trim(), nodeOptionsFlags());
  });

  it('the image and deploy/configmap.yaml set the same glibc malloc settings: two arenas, a 128 KB trim threshold', () => {
    const dockerfile = read('Dockerfile');
    const settings = (text: string, pattern: RegExp): Record<string, string> =>
      Object.fromEntries([...text.matchAll(pattern)].map(([, name, value]) => [name, value]));
    const image = settings(dockerfile.slice(dockerfile.lastIndexOf('FROM ')), /^\s+(MALLOC_[A-Z_]+)=(\d+)/gm);
    assert.deepEqual(image, { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072' });
    assert.deepEqual(settings(read('deploy/configmap.yaml'), /^\s+(MALLOC_[A-Z_]+): '(\d+)'$/gm), image);
  });
});
