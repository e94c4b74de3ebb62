import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

// The compiled entry point next to this test: .build/src/main.js
const MAIN = join(__dirname, '..', 'src', 'main.js');

function start(env: Record<string, string>) {
  const result = spawnSync(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stderr: result.stderr.trim(), stdout: result.stdout.trim() };
}

describe('configuration checked at start', () => {
  it('stops with one line naming the variable when a value is bad', () => {
    const run = start({ BCRYPT_ROUNDS: 'lots' });
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'Invalid configuration: BCRYPT_ROUNDS must be a whole number (got "lots")');
  });

  it('refuses production without a JWT secret, or with a weak bcrypt cost', () => {
    const noSecret = start({ NODE_ENV: 'production', JWT_ALGORITHM: 'HS256' });
    assert.equal(noSecret.code, 1);
    assert.equal(noSecret.stderr, 'Invalid configuration: JWT_ACCESS_SECRET is required when NODE_ENV=production');
    const weak = start({
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: 's'.repeat(40),
      ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      BCRYPT_ROUNDS: '8',
    });
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /^Invalid configuration: BCRYPT_ROUNDS must be at least 10/);
    assert.ok(!weak.stderr.includes('s'.repeat(40)));
  });

  it('refuses production without an ENCRYPTION_KEY, or with a short one, without echoing it', () => {
    const secret = 's'.repeat(40);
    const missing = start({ NODE_ENV: 'production', JWT_ACCESS_SECRET: secret });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Invalid configuration: ENCRYPTION_KEY is required when NODE_ENV=production');
    const shortKey = Buffer.alloc(16, 3).toString('base64');
    const short = start({ NODE_ENV: 'production', JWT_ACCESS_SECRET: secret, ENCRYPTION_KEY: shortKey });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /^Invalid configuration: ENCRYPTION_KEY must be base64 of at least 32 random bytes/);
    assert.ok(!short.stderr.includes('\n') && !short.stderr.includes(shortKey));
  });

  it('accepts lifetimes of a few seconds', () => {
    // The start goes past configuration and stops later, at the unreachable database.
    const run = start({ REFRESH_TOKEN_TTL: '4', PASSWORD_RESET_TTL: '3', JWT_ACCESS_TTL: '1' });
    assert.ok(!run.stderr.includes('Invalid configuration'), run.stderr);
  });
});
