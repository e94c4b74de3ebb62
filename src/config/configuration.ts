// The typed configuration namespaces, built once from the validated environment.
// Services read them through ConfigService<LatchConfig, true>: config.get('auth', { infer: true }).
import { ConfigModule, registerAs } from '@nestjs/config';
import type { DynamicModule } from '@nestjs/common';
import { parseEnv, type Env, type TrustProxy } from './env';

export interface AppConfig {
  nodeEnv: Env['nodeEnv'];
  production: boolean;
  port: number;
  host: string;
  appUrl: string;
  dataDir: string;
  trustProxy: TrustProxy;
  corsOrigins: string[];
  corsMaxAge: number;
  logLevel: Env['logLevel'];
  metricsToken?: string;
  slowRequestMs: number;
  adminEmail?: string;
  adminPassword?: string;
}

export interface AuthConfig {
  jwtAccessSecret: string;
  jwtAccessSecretGenerated: boolean;
  jwtAccessTtl: number;
  jwtIssuer: string;
  jwtAudience: string;
  refreshTokenTtl: number;
  refreshReuseGraceSeconds: number;
  /** Live refresh sessions a user may hold; a new sign-in beyond it ends the oldest. */
  maxSessionsPerUser: number;
  bcryptRounds: number;
  bcryptConcurrency: number;
  bcryptQueueMax: number;
  passwordResetTtl: number;
  emailVerificationRequired: boolean;
  requireApproval: boolean;
  loginNotifyNewDevice: boolean;
  tokenCleanupCron: string;
  revokedTokenRetentionDays: number;
}

export interface DatabaseConfig {
  url?: string;
  poolMax: number;
  migrationsRun: boolean;
}

export interface RedisConfig {
  url?: string;
  keyPrefix: string;
}

export interface MailConfig {
  smtpUrl?: string;
  from: string;
  maxAttempts: number;
  outputDir: string;
}

export interface ThrottleConfig {
  enabled: boolean;
  /** Requests per client address per minute, by route group. */
  limits: Env['rateLimits'];
}

export interface LatchConfig {
  app: AppConfig;
  auth: AuthConfig;
  database: DatabaseConfig;
  redis: RedisConfig;
  mail: MailConfig;
  throttle: ThrottleConfig;
}

export function buildConfig(env: Env): LatchConfig {
  return {
    app: {
      nodeEnv: env.nodeEnv,
      production: env.nodeEnv === 'production',
      port: env.port,
      host: env.host,
      appUrl: env.appUrl,
      dataDir: env.dataDir,
      trustProxy: env.trustProxy,
      corsOrigins: env.corsOrigins,
      corsMaxAge: env.corsMaxAge,
      logLevel: env.logLevel,
      metricsToken: env.metricsToken,
      slowRequestMs: env.slowRequestMs,
      adminEmail: env.adminEmail,
      adminPassword: env.adminPassword,
    },
    auth: {
      jwtAccessSecret: env.jwtAccessSecret,
      jwtAccessSecretGenerated: env.jwtAccessSecretGenerated,
      jwtAccessTtl: env.jwtAccessTtl,
      jwtIssuer: env.jwtIssuer,
      jwtAudience: env.jwtAudience,
      refreshTokenTtl: env.refreshTokenTtl,
      refreshReuseGraceSeconds: env.refreshReuseGraceSeconds,
      maxSessionsPerUser: env.maxSessionsPerUser,
      bcryptRounds: env.bcryptRounds,
      bcryptConcurrency: env.bcryptConcurrency,
      bcryptQueueMax: env.bcryptQueueMax,
      passwordResetTtl: env.passwordResetTtl,
      emailVerificationRequired: env.emailVerificationRequired,
      requireApproval: env.requireApproval,
      loginNotifyNewDevice: env.loginNotifyNewDevice,
      tokenCleanupCron: env.tokenCleanupCron,
      revokedTokenRetentionDays: env.revokedTokenRetentionDays,
    },
    database: { url: env.databaseUrl, poolMax: env.dbPoolMax, migrationsRun: env.dbMigrationsRun },
    redis: { url: env.redisUrl, keyPrefix: env.redisKeyPrefix },
    mail: {
      smtpUrl: env.smtpUrl,
      from: env.mailFrom,
      maxAttempts: env.mailMaxAttempts,
      outputDir: `${env.dataDir}/mail`,
    },
    throttle: { enabled: env.rateLimitEnabled, limits: env.rateLimits },
  };
}

export function loadConfig(source: Record<string, string | undefined> = process.env): LatchConfig {
  return buildConfig(parseEnv(source));
}

/** Registers each namespace with @nestjs/config for one application instance. */
export function configModule(config: LatchConfig): Promise<DynamicModule> {
  return ConfigModule.forRoot({
    isGlobal: true,
    ignoreEnvFile: true,
    load: (Object.keys(config) as (keyof LatchConfig)[]).map((key) => registerAs(key, () => config[key])),
  });
}
