// Reads and validates every environment variable Latch understands (README.md, "Configuration").
// A bad value stops the start with one line naming the variable; secret values are never echoed.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Source = Record<string, string | undefined>;

class Reader {
  constructor(private readonly source: Source) {}

  raw(name: string): string | undefined {
    const value = this.source[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optional(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be a whole number (got "${value}")`);
    const parsed = Number(value);
    if (parsed < min || parsed > max) {
      throw new ConfigError(name, `must be between ${min} and ${max} (got ${parsed})`);
    }
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    throw new ConfigError(name, `must be true or false (got "${value}")`);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${value}")`);
    }
    return value as T;
  }

  /** URLs may carry credentials, so a bad one is reported without its value. */
  url(name: string, protocols: readonly string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(name, 'is not a valid URL');
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `must use ${protocols.map((p) => `${p}//`).join(' or ')}`);
    }
    return value;
  }

  list(name: string): string[] {
    return (this.raw(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
  }
}

export type TrustProxy = boolean | string[];

export interface Env {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  dbPoolMax: number;
  dbMigrationsRun: boolean;
  redisUrl?: string;
  redisKeyPrefix: string;
  jwtAccessSecret: string;
  jwtAccessSecretGenerated: boolean;
  jwtAccessTtl: number;
  jwtIssuer: string;
  jwtAudience: string;
  refreshTokenTtl: number;
  refreshReuseGraceSeconds: number;
  maxSessionsPerUser: number;
  bcryptRounds: number;
  bcryptConcurrency: number;
  bcryptQueueMax: number;
  smtpUrl?: string;
  mailFrom: string;
  appUrl: string;
  passwordResetTtl: number;
  emailVerificationRequired: boolean;
  requireApproval: boolean;
  adminEmail?: string;
  adminPassword?: string;
  rateLimitEnabled: boolean;
  /** Requests per client address per minute, by route group. */
  rateLimits: { default: number; register: number; login: number; token: number; forgotPassword: number };
  trustProxy: TrustProxy;
  corsOrigins: string[];
  corsMaxAge: number;
  tokenCleanupCron: string;
  revokedTokenRetentionDays: number;
  mailMaxAttempts: number;
  loginNotifyNewDevice: boolean;
  metricsToken?: string;
  slowRequestMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

const CRON_FIELD = /^[\d*/,\-A-Za-z?LW#]+$/;

function parseTrustProxy(read: Reader): TrustProxy {
  const value = read.raw('TRUST_PROXY');
  if (value === undefined || value.toLowerCase() === 'false') return false;
  if (value.toLowerCase() === 'true') return true;
  const entries = read.list('TRUST_PROXY');
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !bitsOk || extra !== undefined) {
      throw new ConfigError(
        'TRUST_PROXY',
        `must be true, false, or a comma list of IP addresses or CIDR ranges (bad entry "${entry}")`,
      );
    }
  }
  return entries;
}

export function parseEnv(source: Source): Env {
  const read = new Reader(source);
  const nodeEnv = read.oneOf('NODE_ENV', 'development', ['development', 'production', 'test'] as const);
  const production = nodeEnv === 'production';

  const secret = read.optional('JWT_ACCESS_SECRET');
  if (production && secret === undefined) {
    throw new ConfigError('JWT_ACCESS_SECRET', 'is required when NODE_ENV=production');
  }
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('JWT_ACCESS_SECRET', 'must be at least 32 bytes long');
  }

  const bcryptRounds = read.int('BCRYPT_ROUNDS', 12, 4, 31);
  if (production && bcryptRounds < 10) {
    throw new ConfigError('BCRYPT_ROUNDS', `must be at least 10 when NODE_ENV=production (got ${bcryptRounds})`);
  }

  const appUrl = read.url('APP_URL', ['http:', 'https:']) ?? 'http://localhost:3000';
  const adminEmail = read.optional('ADMIN_EMAIL');
  const adminPassword = read.optional('ADMIN_PASSWORD');
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(
      adminEmail === undefined ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD',
      'must be set together with its pair',
    );
  }

  const cron = read.string('TOKEN_CLEANUP_CRON', '0 * * * *');
  const cronFields = cron.split(/\s+/);
  if (cronFields.length < 5 || cronFields.length > 6 || !cronFields.every((f) => CRON_FIELD.test(f))) {
    throw new ConfigError('TOKEN_CLEANUP_CRON', `must be a cron expression of 5 or 6 fields (got "${cron}")`);
  }

  const origins = read.list('CORS_ORIGINS');
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `must list origins such as https://app.example.com (bad entry "${origin}")`,
      );
    }
  }

  return {
    nodeEnv,
    port: read.int('PORT', 3000, 0, 65535),
    host: read.string('HOST', '0.0.0.0'),
    databaseUrl: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: read.string('DATA_DIR', '.data'),
    dbPoolMax: read.int('DB_POOL_MAX', 20, 1, 1000),
    dbMigrationsRun: read.bool('DB_MIGRATIONS_RUN', true),
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: read.string('REDIS_KEY_PREFIX', 'latch:'),
    jwtAccessSecret: secret ?? randomBytes(48).toString('base64url'),
    jwtAccessSecretGenerated: secret === undefined,
    jwtAccessTtl: read.int('JWT_ACCESS_TTL', 900, 1, 86_400),
    jwtIssuer: read.string('JWT_ISSUER', 'latch'),
    jwtAudience: read.string('JWT_AUDIENCE', 'latch'),
    refreshTokenTtl: read.int('REFRESH_TOKEN_TTL', 2_592_000, 60, 31_536_000),
    refreshReuseGraceSeconds: read.int('REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
    maxSessionsPerUser: read.int('MAX_SESSIONS_PER_USER', 100, 1, 10_000),
    bcryptRounds,
    bcryptConcurrency: read.int('BCRYPT_CONCURRENCY', availableParallelism(), 1, 256),
    bcryptQueueMax: read.int('BCRYPT_QUEUE_MAX', 64, 0, 100_000),
    smtpUrl: read.url('SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: read.string('MAIL_FROM', 'Latch <no-reply@localhost>'),
    appUrl: appUrl.replace(/\/+$/, ''),
    passwordResetTtl: read.int('PASSWORD_RESET_TTL', 1800, 60, 86_400),
    emailVerificationRequired: read.bool('EMAIL_VERIFICATION_REQUIRED', false),
    requireApproval: read.bool('REQUIRE_APPROVAL', false),
    adminEmail,
    adminPassword,
    rateLimitEnabled: read.bool('RATE_LIMIT_ENABLED', true),
    rateLimits: {
      default: read.int('RATE_LIMIT_DEFAULT', 200, 1, 1_000_000),
      register: read.int('RATE_LIMIT_REGISTER', 5, 1, 1_000_000),
      login: read.int('RATE_LIMIT_LOGIN', 10, 1, 1_000_000),
      token: read.int('RATE_LIMIT_TOKEN', 20, 1, 1_000_000),
      forgotPassword: read.int('RATE_LIMIT_FORGOT_PASSWORD', 5, 1, 1_000_000),
    },
    trustProxy: parseTrustProxy(read),
    corsOrigins: origins,
    corsMaxAge: read.int('CORS_MAX_AGE', 3600, 0, 86_400),
    tokenCleanupCron: cron,
    revokedTokenRetentionDays: read.int('REVOKED_TOKEN_RETENTION_DAYS', 7, 0, 3650),
    mailMaxAttempts: read.int('MAIL_MAX_ATTEMPTS', 10, 1, 1000),
    loginNotifyNewDevice: read.bool('LOGIN_NOTIFY_NEW_DEVICE', false),
    metricsToken: read.optional('METRICS_TOKEN'),
    slowRequestMs: read.int('SLOW_REQUEST_MS', 1000, 1, 600_000),
    logLevel: read.oneOf('LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
  };
}
