import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseEnv } from './env';

const SECRET = 'x'.repeat(32);

describe('environment validation', () => {
  it('applies the documented defaults', () => {
    const env = parseEnv({});
    assert.equal(env.port, 3000);
    assert.equal(env.host, '0.0.0.0');
    assert.equal(env.bcryptRounds, 12);
    assert.equal(env.jwtAccessTtl, 900);
    assert.equal(env.refreshTokenTtl, 2_592_000);
    assert.equal(env.refreshReuseGraceSeconds, 10);
    assert.equal(env.dataDir, '.data');
    assert.equal(env.dbPoolMax, 20);
    assert.equal(env.trustProxy, false);
    assert.equal(env.rateLimitEnabled, true);
    assert.equal(env.jwtAccessSecretGenerated, true);
    assert.equal(env.tokenCleanupCron, '0 * * * *');
  });

  it('names the variable in one line when a value is bad', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ BCRYPT_ROUNDS: 'twelve' }, /^Invalid configuration: BCRYPT_ROUNDS must be a whole number/],
      [{ PORT: '70000' }, /^Invalid configuration: PORT must be between 0 and 65535/],
      [{ RATE_LIMIT_ENABLED: 'maybe' }, /^Invalid configuration: RATE_LIMIT_ENABLED must be true or false/],
      [{ TRUST_PROXY: '10.0.0.0/99' }, /^Invalid configuration: TRUST_PROXY/],
      [{ CORS_ORIGINS: 'https://a.example/path' }, /^Invalid configuration: CORS_ORIGINS/],
      [{ DATABASE_URL: 'mysql://x' }, /^Invalid configuration: DATABASE_URL must use postgres/],
      [{ TOKEN_CLEANUP_CRON: 'every hour' }, /^Invalid configuration: TOKEN_CLEANUP_CRON/],
    ];
    for (const [source, message] of cases) {
      assert.throws(
        () => parseEnv(source),
        (e: Error) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'),
      );
    }
  });

  it('never echoes a secret or a URL with credentials', () => {
    assert.throws(
      () => parseEnv({ JWT_ACCESS_SECRET: 'short-secret' }),
      (e: Error) => !e.message.includes('short-secret'),
    );
    assert.throws(
      () => parseEnv({ REDIS_URL: 'http://user:hunter2@host' }),
      (e: Error) => !e.message.includes('hunter2'),
    );
  });

  it('in production requires a JWT secret of 32 bytes and bcrypt cost of at least 10', () => {
    assert.throws(() => parseEnv({ NODE_ENV: 'production' }), /JWT_ACCESS_SECRET is required/);
    assert.throws(() => parseEnv({ NODE_ENV: 'production', JWT_ACCESS_SECRET: 'x'.repeat(31) }), /at least 32 bytes/);
    assert.throws(
      () => parseEnv({ NODE_ENV: 'production', JWT_ACCESS_SECRET: SECRET, BCRYPT_ROUNDS: '9' }),
      /BCRYPT_ROUNDS must be at least 10/,
    );
    assert.equal(parseEnv({ NODE_ENV: 'production', JWT_ACCESS_SECRET: SECRET }).bcryptRounds, 12);
  });

  it('parses TRUST_PROXY as a boolean or a list of addresses and ranges', () => {
    assert.equal(parseEnv({ TRUST_PROXY: 'true' }).trustProxy, true);
    assert.deepEqual(parseEnv({ TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,::1' }).trustProxy, [
      '10.0.0.1',
      '192.168.0.0/16',
      '::1',
    ]);
  });
});
