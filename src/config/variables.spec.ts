import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableParallelism } from 'node:os';
import { bcryptConcurrency, declaredVariables, loadConfig, type LatchConfig } from './variables';
import { ConfigError } from './env';

const SECRET = 'x'.repeat(32);
const KEY = Buffer.alloc(32, 7).toString('base64');
/** What production needs besides NODE_ENV. */
const PRODUCTION = { NODE_ENV: 'production', JWT_ACCESS_SECRET: SECRET, ENCRYPTION_KEY: KEY };

describe('environment validation', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.app.port, 3000);
    assert.equal(config.app.host, '0.0.0.0');
    assert.equal(config.auth.bcryptRounds, 12);
    assert.equal(config.auth.jwtAccessTtl, 900);
    assert.equal(config.auth.refreshTokenTtl, 2_592_000);
    assert.equal(config.auth.refreshReuseGraceSeconds, 10);
    assert.equal(config.app.dataDir, '.data');
    assert.equal(config.database.poolMax, 20);
    assert.equal(config.app.trustProxy, false);
    assert.equal(config.throttle.enabled, true);
    assert.equal(config.auth.jwtAccessSecretGenerated, true);
    assert.equal(config.auth.tokenCleanupCron, '0 * * * *');
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
        () => loadConfig(source),
        (e: Error) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'),
      );
    }
  });

  it('never echoes a secret or a URL with credentials', () => {
    assert.throws(
      () => loadConfig({ JWT_ACCESS_SECRET: 'short-secret' }),
      (e: Error) => !e.message.includes('short-secret'),
    );
    assert.throws(
      () => loadConfig({ REDIS_URL: 'http://user:hunter2@host' }),
      (e: Error) => !e.message.includes('hunter2'),
    );
  });

  it('in production requires a JWT secret of 32 bytes and bcrypt cost of at least 10', () => {
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production', JWT_ALGORITHM: 'HS256' }),
      /JWT_ACCESS_SECRET is required/,
    );
    assert.throws(() => loadConfig({ NODE_ENV: 'production', JWT_ACCESS_SECRET: 'x'.repeat(31) }), /at least 32 bytes/);
    assert.throws(() => loadConfig({ ...PRODUCTION, BCRYPT_ROUNDS: '9' }), /BCRYPT_ROUNDS must be at least 10/);
    assert.equal(loadConfig(PRODUCTION).auth.bcryptRounds, 12);
  });

  it('in production requires ENCRYPTION_KEY; elsewhere leaves it to a key generated under DATA_DIR', () => {
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production', JWT_ACCESS_SECRET: SECRET }),
      (e: Error) => e.message === 'Invalid configuration: ENCRYPTION_KEY is required when NODE_ENV=production',
    );
    const development = loadConfig({ DATA_DIR: '/srv/latch' });
    assert.deepEqual(development.crypto.encryptionKeys, []);
    assert.equal(development.crypto.generatedKeyFile, '/srv/latch/encryption-key');
  });

  it('reads ENCRYPTION_KEY as a comma list of base64 keys of 32 bytes or more, never echoing one', () => {
    const old = Buffer.alloc(48, 9);
    const keys = loadConfig({ ...PRODUCTION, ENCRYPTION_KEY: ` ${KEY} , ${old.toString('base64url')} ` }).crypto
      .encryptionKeys;
    assert.deepEqual(keys, [Buffer.alloc(32, 7), old]);
    const short = Buffer.alloc(31, 1).toString('base64');
    for (const bad of [short, `${KEY},${short}`, 'not base64 at all, is it?', `${KEY}!`]) {
      assert.throws(
        () => loadConfig({ ...PRODUCTION, ENCRYPTION_KEY: bad }),
        (e: Error) =>
          /^Invalid configuration: ENCRYPTION_KEY must be base64 of at least 32 random bytes/.test(e.message) &&
          !e.message.includes(short) &&
          !e.message.includes(KEY),
        bad,
      );
    }
    assert.equal(declaredVariables().find((v) => v.name === 'ENCRYPTION_KEY')?.secret, true);
  });

  it('parses TRUST_PROXY as a boolean or a list of addresses and ranges', () => {
    assert.equal(loadConfig({ TRUST_PROXY: 'true' }).app.trustProxy, true);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,::1' }).app.trustProxy, [
      '10.0.0.1',
      '192.168.0.0/16',
      '::1',
    ]);
  });

  it('accepts every lifetime from 1 second up', () => {
    const config = loadConfig({ JWT_ACCESS_TTL: '1', REFRESH_TOKEN_TTL: '4', PASSWORD_RESET_TTL: '3' });
    assert.equal(config.auth.jwtAccessTtl, 1);
    assert.equal(config.auth.refreshTokenTtl, 4);
    assert.equal(config.auth.passwordResetTtl, 3);
    for (const name of ['JWT_ACCESS_TTL', 'REFRESH_TOKEN_TTL', 'PASSWORD_RESET_TTL']) {
      const message = new RegExp(`^Invalid configuration: ${name} must be between 1 and`);
      assert.throws(
        () => loadConfig({ [name]: '0' }),
        (e: Error) => message.test(e.message),
      );
    }
  });

  it('reads PASSWORD_MIN_LENGTH into auth, from 8 up', () => {
    assert.equal(loadConfig({}).auth.passwordMinLength, 8);
    assert.equal(loadConfig({ PASSWORD_MIN_LENGTH: '15' }).auth.passwordMinLength, 15);
    assert.throws(() => loadConfig({ PASSWORD_MIN_LENGTH: '7' }), /PASSWORD_MIN_LENGTH must be between 8 and 64/);
  });

  it('derives the values no variable holds', () => {
    const config: LatchConfig = loadConfig({ DATA_DIR: '/srv/latch', APP_URL: 'https://id.example.com//' });
    assert.equal(config.app.production, false);
    assert.equal(config.mail.outputDir, '/srv/latch/mail');
    assert.equal(config.app.appUrl, 'https://id.example.com');
    assert.equal(config.app.adminEmail, undefined);
    const given = loadConfig(PRODUCTION);
    assert.equal(given.auth.jwtAccessSecret, SECRET);
    assert.equal(given.auth.jwtAccessSecretGenerated, false);
    assert.equal(given.app.production, true);
  });

  it('never echoes a secret that fails its check', () => {
    const secret = 'not-a-url-but-secret';
    assert.throws(
      () => loadConfig({ SMTP_URL: secret }),
      (e: Error) => /^Invalid configuration: SMTP_URL/.test(e.message) && !e.message.includes(secret),
    );
  });

  it('lists each declared variable once, with its namespace property', () => {
    const variables = declaredVariables();
    const names = variables.map((v) => v.name);
    assert.equal(new Set(names).size, names.length);
    const ttl = variables.find((v) => v.name === 'JWT_ACCESS_TTL');
    assert.deepEqual(ttl && { path: ttl.path, default: ttl.default, secret: ttl.secret }, {
      path: 'auth.jwtAccessTtl',
      default: '900',
      secret: false,
    });
    assert.equal(variables.find((v) => v.name === 'JWT_ACCESS_SECRET')?.secret, true);
  });

  it('reads BCRYPT_CONCURRENCY for the thread pool as loadConfig does, its default when bad', () => {
    assert.equal(bcryptConcurrency({ BCRYPT_CONCURRENCY: '3' }), 3);
    assert.equal(bcryptConcurrency({}), availableParallelism());
    assert.equal(bcryptConcurrency({ BCRYPT_CONCURRENCY: 'many' }), availableParallelism());
    assert.equal(loadConfig({}).auth.bcryptConcurrency, availableParallelism());
  });
});
