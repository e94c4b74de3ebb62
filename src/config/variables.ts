// Every environment variable Latch understands, declared once: name, parser, default, bounds,
// secret or not, and the namespace property it fills. The typed namespaces (app, auth, database,
// redis, mail, throttle) and their TypeScript types are derived from this declaration.
// Adding a variable: one entry below (and a row in README's configuration table and .env.example,
// which test/config-docs.spec.ts checks), plus its use.
// No framework imports here: threadpool.ts reads BCRYPT_CONCURRENCY through it before anything loads.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import {
  bool,
  ConfigError,
  custom,
  int,
  list,
  listDeclaration,
  oneOf,
  parseTrustProxy,
  rawValue,
  splitList,
  readDeclaration,
  text,
  url,
  type DeclaredVariable,
  type Source,
  type TrustProxy,
  type Values,
} from './env';

const CRON_FIELD = /^[\d*/,\-A-Za-z?LW#]+$/;
const RATE = { min: 1, max: 1_000_000 };
/** Lifetimes are whole seconds from 1 up: drills and tests use lifetimes of a few seconds. */
const lifetime = (name: string, defaultSeconds: number, max: number, description: string) =>
  int(name, { default: defaultSeconds, min: 1, max, description });

/** Bytes of an ENCRYPTION_KEY entry at least (AES-256 needs 32). */
const MIN_ENCRYPTION_KEY_BYTES = 32;

/** ENCRYPTION_KEY: comma-separated base64 (or base64url) keys, each of at least 32 bytes. */
function parseEncryptionKeys(value: string): Buffer[] {
  return splitList(value).map((entry) => {
    const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(entry) ? Buffer.from(entry, 'base64') : Buffer.alloc(0);
    if (bytes.length < MIN_ENCRYPTION_KEY_BYTES) {
      throw new ConfigError(
        'ENCRYPTION_KEY',
        `must be base64 of at least ${MIN_ENCRYPTION_KEY_BYTES} random bytes, comma-separated to rotate (openssl rand -base64 32)`,
      );
    }
    return bytes;
  });
}

/** A JWK Set as the operator gives it; each key is checked when the key ring is built. */
export interface JwkSet {
  keys: Record<string, unknown>[];
}

/** JWT_SIGNING_KEYS: a JSON JWK Set of private keys, each with a `kid`. */
function parseJwkSet(value: string): JwkSet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError('JWT_SIGNING_KEYS', 'must be a JSON JWK Set ({"keys": [...]})');
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError('JWT_SIGNING_KEYS', 'must be a JSON JWK Set with at least one key');
  }
  for (const key of keys) {
    if (typeof key !== 'object' || key === null || typeof (key as { kid?: unknown }).kid !== 'string') {
      throw new ConfigError('JWT_SIGNING_KEYS', 'every key needs a "kid"');
    }
    if (typeof (key as { d?: unknown }).d !== 'string') {
      throw new ConfigError('JWT_SIGNING_KEYS', 'every key must be a private key (with "d")');
    }
  }
  return { keys: keys as Record<string, unknown>[] };
}

const schema = {
  app: {
    nodeEnv: oneOf('NODE_ENV', ['development', 'production', 'test'], {
      default: 'development',
      description: '`production` turns on strict checks',
    }),
    port: int('PORT', { default: 3000, min: 0, max: 65535, description: 'listen port' }),
    host: text('HOST', { default: '0.0.0.0', description: 'listen address' }),
    appUrl: url('APP_URL', ['http:', 'https:'], {
      default: 'http://localhost:3000',
      normalize: (value) => value.replace(/\/+$/, ''),
      description: 'base of links in mail',
    }),
    dataDir: text('DATA_DIR', { default: '.data', description: 'embedded database files and captured mail' }),
    trustProxy: custom<TrustProxy>('TRUST_PROXY', {
      default: false,
      parse: parseTrustProxy,
      description: 'which proxies may name the client address',
    }),
    corsOrigins: list('CORS_ORIGINS', {
      description: 'allowed origins, comma-separated',
      check: (origin) => {
        let parsed: URL | undefined;
        try {
          parsed = new URL(origin);
        } catch {
          parsed = undefined;
        }
        return parsed && parsed.origin === origin
          ? null
          : `must list origins such as https://app.example.com (bad entry "${origin}")`;
      },
    }),
    corsMaxAge: int('CORS_MAX_AGE', { default: 3600, min: 0, max: 86_400, description: 'preflight cache, seconds' }),
    logLevel: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      default: 'info',
      description: 'log level',
    }),
    metricsToken: text('METRICS_TOKEN', { secret: true, description: 'bearer token required by /metrics' }),
    slowRequestMs: int('SLOW_REQUEST_MS', {
      default: 1000,
      min: 1,
      max: 600_000,
      description: 'slow request log threshold',
    }),
    adminEmail: text('ADMIN_EMAIL', { description: 'initial admin address' }),
    adminPassword: text('ADMIN_PASSWORD', { secret: true, description: 'initial admin password' }),
  },
  auth: {
    jwtAccessSecret: text('JWT_ACCESS_SECRET', {
      secret: true,
      // Generated per process when unset; production refuses to start without one (see RULES).
      default: () => randomBytes(48).toString('base64url'),
      shownDefault: 'random per process in development',
      check: (value) => (Buffer.byteLength(value) < 32 ? 'must be at least 32 bytes long' : null),
      description: 'HS256 signing key',
    }),
    jwtAlgorithm: oneOf('JWT_ALGORITHM', ['ES256', 'EdDSA', 'RS256', 'HS256'], {
      default: 'ES256',
      description: 'access token signing algorithm (pinned)',
    }),
    jwtSigningKeys: custom<JwkSet | undefined>('JWT_SIGNING_KEYS', {
      secret: true,
      default: undefined,
      shownDefault: 'unset: managed keys',
      parse: parseJwkSet,
      description: 'operator-managed private signing keys (a JWK Set)',
    }),
    jwtKeyRotationDays: int('JWT_KEY_ROTATION_DAYS', {
      default: 30,
      min: 1,
      max: 3650,
      description: 'days a managed key signs before the next one takes over',
    }),
    jwtKeyPublishAheadSeconds: int('JWT_KEY_PUBLISH_AHEAD_SECONDS', {
      default: 600,
      min: 1,
      max: 86_400,
      description: 'seconds a new managed key is published before it signs',
    }),
    jwtAccessTtl: lifetime('JWT_ACCESS_TTL', 900, 86_400, 'access token lifetime, seconds'),
    jwtIssuer: text('JWT_ISSUER', { default: 'latch', description: 'token issuer' }),
    jwtAudience: text('JWT_AUDIENCE', { default: 'latch', description: 'token audience' }),
    mfaIssuer: text('MFA_ISSUER', { default: 'Latch', description: 'the issuer name authenticator apps show' }),
    refreshTokenTtl: lifetime('REFRESH_TOKEN_TTL', 2_592_000, 31_536_000, 'refresh session lifetime, seconds'),
    refreshReuseGraceSeconds: int('REFRESH_REUSE_GRACE_SECONDS', {
      default: 10,
      min: 0,
      max: 300,
      description: 'window in which a rotated refresh token returns the same pair',
    }),
    refreshIdleTtl: int('REFRESH_IDLE_TTL', {
      default: 0,
      min: 0,
      max: 31_536_000,
      description: 'seconds a session may go without a refresh; 0: no idle limit',
    }),
    bcryptRounds: int('BCRYPT_ROUNDS', { default: 12, min: 4, max: 31, description: 'bcrypt cost' }),
    bcryptConcurrency: int('BCRYPT_CONCURRENCY', {
      // One hash per core keeps the pool busy without queueing other libuv work behind bcrypt.
      default: () => availableParallelism(),
      shownDefault: 'cores',
      min: 1,
      max: 256,
      description: 'password hashes at once',
    }),
    bcryptQueueMax: int('BCRYPT_QUEUE_MAX', {
      default: 64,
      min: 0,
      max: 100_000,
      description: 'hashes waiting beyond which logins are refused',
    }),
    passwordMinLength: int('PASSWORD_MIN_LENGTH', {
      default: 8,
      min: 8,
      max: 64,
      description: 'shortest accepted password, characters',
    }),
    passwordResetTtl: lifetime('PASSWORD_RESET_TTL', 1800, 86_400, 'reset token lifetime, seconds'),
    maxSessionsPerUser: int('MAX_SESSIONS_PER_USER', {
      default: 100,
      min: 1,
      max: 10_000,
      description: 'live sessions one account may hold; a new sign-in beyond it ends the oldest',
    }),
    apiKeysMaxPerUser: int('API_KEYS_MAX_PER_USER', {
      default: 25,
      min: 1,
      max: 1_000,
      description: 'live API keys one account may hold; creating one more is refused',
    }),
    passwordResetSweepMs: int('PASSWORD_RESET_SWEEP_MS', {
      default: 10_000,
      min: 100,
      max: 600_000,
      description: 'how often forgot-password requests cut off by a crash are looked for, ms',
    }),
    emailVerificationRequired: bool('EMAIL_VERIFICATION_REQUIRED', {
      default: false,
      description: 'sign-in needs a verified address',
    }),
    requireApproval: bool('REQUIRE_APPROVAL', { default: false, description: 'new accounts wait for an admin' }),
    loginNotifyNewDevice: bool('LOGIN_NOTIFY_NEW_DEVICE', {
      default: false,
      description: 'mail the user on a sign-in from a new device',
    }),
    tokenCleanupCron: text('TOKEN_CLEANUP_CRON', {
      default: '0 * * * *',
      description: 'token cleanup schedule',
      check: (cron) => {
        const fields = cron.split(/\s+/);
        return fields.length >= 5 && fields.length <= 6 && fields.every((f) => CRON_FIELD.test(f))
          ? null
          : `must be a cron expression of 5 or 6 fields (got "${cron}")`;
      },
    }),
    revokedTokenRetentionDays: int('REVOKED_TOKEN_RETENTION_DAYS', {
      default: 7,
      min: 0,
      max: 3650,
      description: 'days revoked sessions (for reuse detection) and expired API keys are kept',
    }),
  },
  crypto: {
    /** Raw keys; the first encrypts, every one decrypts. Empty: generated under DATA_DIR (not in production). */
    encryptionKeys: custom<Buffer[]>('ENCRYPTION_KEY', {
      secret: true,
      default: [],
      shownDefault: 'development: generated once under DATA_DIR',
      parse: parseEncryptionKeys,
      description: 'keys for the secrets Latch stores and reads back',
    }),
  },
  database: {
    url: url('DATABASE_URL', ['postgres:', 'postgresql:'], {
      secret: true,
      description: 'PostgreSQL URL; unset: embedded PostgreSQL',
    }),
    poolMax: int('DB_POOL_MAX', { default: 20, min: 1, max: 1000, description: 'connection pool size' }),
    migrationsRun: bool('DB_MIGRATIONS_RUN', { default: true, description: 'apply pending migrations at start' }),
    preparedStatements: bool('DB_PREPARED_STATEMENTS', {
      default: true,
      description:
        'prepare repeated statements once per connection; false behind a pooler that cannot (PgBouncer before 1.21 in transaction mode)',
    }),
    /** Read replicas for the reads that tolerate replication lag (src/database/read-replicas.ts). */
    readUrls: list('DATABASE_READ_URLS', {
      secret: true,
      description: 'comma list of PostgreSQL read replicas for lag-tolerant reads; unset: every read on DATABASE_URL',
      check: (entry) => {
        try {
          return ['postgres:', 'postgresql:'].includes(new URL(entry).protocol) ? null : 'must use postgres://';
        } catch {
          return 'has an entry that is not a valid URL';
        }
      },
    }),
    readMaxLagSeconds: int('DATABASE_READ_MAX_LAG_SECONDS', {
      default: 10,
      min: 1,
      max: 86_400,
      description: 'a replica further behind than this is skipped for the primary until it catches up',
    }),
    readCheckIntervalSeconds: int('DATABASE_READ_CHECK_INTERVAL_SECONDS', {
      default: 5,
      min: 1,
      max: 3600,
      description: 'how often each replica is checked (answers, lag)',
    }),
  },
  redis: {
    url: url('REDIS_URL', ['redis:', 'rediss:'], { secret: true, description: 'Redis URL; unset: in memory' }),
    keyPrefix: text('REDIS_KEY_PREFIX', { default: 'latch:', description: 'prefix of every Redis key' }),
  },
  mail: {
    smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:'], { secret: true, description: 'SMTP URL; unset: .eml files' }),
    from: text('MAIL_FROM', { default: 'Latch <no-reply@localhost>', description: 'sender' }),
    maxAttempts: int('MAIL_MAX_ATTEMPTS', {
      default: 10,
      min: 1,
      max: 1000,
      description: 'delivery attempts before a message is parked',
    }),
  },
  throttle: {
    enabled: bool('RATE_LIMIT_ENABLED', { default: true, description: 'rate limits on' }),
    /** Requests per client address per minute, by route group. */
    limits: {
      default: int('RATE_LIMIT_DEFAULT', { default: 200, ...RATE, description: 'requests per minute, default' }),
      register: int('RATE_LIMIT_REGISTER', { default: 5, ...RATE, description: 'requests per minute, register' }),
      login: int('RATE_LIMIT_LOGIN', { default: 10, ...RATE, description: 'requests per minute, login' }),
      token: int('RATE_LIMIT_TOKEN', { default: 20, ...RATE, description: 'requests per minute, token' }),
      forgotPassword: int('RATE_LIMIT_FORGOT_PASSWORD', {
        default: 5,
        ...RATE,
        description: 'requests per minute, forgot password',
      }),
    },
    /** Requests per API key per minute, whatever address they come from. */
    apiKeyLimit: int('RATE_LIMIT_API_KEY', { default: 600, ...RATE, description: 'requests per minute per API key' }),
  },
};

type Declared = Values<typeof schema>;

/** Values computed from the declared ones rather than read from a variable of their own. */
function derive(declared: Declared, source: Source) {
  return {
    app: { ...declared.app, production: declared.app.nodeEnv === 'production' },
    auth: { ...declared.auth, jwtAccessSecretGenerated: rawValue(source, 'JWT_ACCESS_SECRET') === undefined },
    crypto: { ...declared.crypto, generatedKeyFile: `${declared.app.dataDir}/encryption-key` },
    database: declared.database,
    redis: declared.redis,
    mail: { ...declared.mail, outputDir: `${declared.app.dataDir}/mail` },
    throttle: declared.throttle,
  };
}

export type LatchConfig = ReturnType<typeof derive>;
export type AppConfig = LatchConfig['app'];
export type AuthConfig = LatchConfig['auth'];
export type CryptoConfig = LatchConfig['crypto'];
export type DatabaseConfig = LatchConfig['database'];
export type RedisConfig = LatchConfig['redis'];
export type MailConfig = LatchConfig['mail'];
export type ThrottleConfig = LatchConfig['throttle'];

/** Rules across variables, checked once every variable has parsed. */
const RULES: ((config: LatchConfig) => void)[] = [
  ({ app, auth }) => {
    if (app.production && auth.jwtAlgorithm === 'HS256' && auth.jwtAccessSecretGenerated) {
      throw new ConfigError('JWT_ACCESS_SECRET', 'is required when NODE_ENV=production');
    }
  },
  ({ app, auth }) => {
    if (app.production && auth.bcryptRounds < 10) {
      throw new ConfigError('BCRYPT_ROUNDS', `must be at least 10 when NODE_ENV=production (got ${auth.bcryptRounds})`);
    }
  },
  ({ app, crypto }) => {
    if (app.production && crypto.encryptionKeys.length === 0) {
      throw new ConfigError('ENCRYPTION_KEY', 'is required when NODE_ENV=production');
    }
  },
  ({ app }) => {
    if ((app.adminEmail === undefined) !== (app.adminPassword === undefined)) {
      throw new ConfigError(
        app.adminEmail === undefined ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD',
        'must be set together with its pair',
      );
    }
  },
];

/** Reads and validates the environment; a bad value throws a one-line ConfigError naming it. */
export function loadConfig(source: Source = process.env): LatchConfig {
  const config = derive(readDeclaration(schema, source), source);
  for (const rule of RULES) rule(config);
  return config;
}

/** Every declared variable with its documented default, for the docs and their test. */
export function declaredVariables(): DeclaredVariable[] {
  return listDeclaration(schema);
}

/**
 * BCRYPT_CONCURRENCY as loadConfig() will read it, for sizing libuv's pool before the start; a bad
 * value gives the default here, and loadConfig() then stops the start naming it.
 */
export function bcryptConcurrency(source: Source = process.env): number {
  try {
    return schema.auth.bcryptConcurrency.read(source);
  } catch {
    return schema.auth.bcryptConcurrency.read({});
  }
}
