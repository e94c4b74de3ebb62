// The one way e2e tests boot Latch: the real application (same createApp as main.ts) on a real
// PostgreSQL database of its own, listening on a loopback port.
import type { DynamicModule, Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createApp } from '../../src/bootstrap';
import { loadConfig, LatchConfig } from '../../src/config/configuration';
import { RedisService } from '../../src/redis/redis.service';
import type { LogDestination } from '../../src/modules/observability/logging/app-logger';
import { createDatabase, dropDatabase } from './database';
import { eventually } from './eventually';
import { Http } from './http';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
/** One ENCRYPTION_KEY for every test instance, so that instances sharing a database open each other's rows. */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 'latch test encryption key').toString('base64');

export interface TestApp {
  app: NestFastifyApplication;
  config: LatchConfig;
  /** Base URL of the API, e.g. http://127.0.0.1:41234/api/v1 */
  api: Http;
  /** Base URL without the API prefix, for /health, /metrics and /docs. */
  root: Http;
  databaseUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Share an existing database (a second instance); it is then not dropped on close. */
  databaseUrl?: string;
  /** Extra environment, as the service would read it. */
  env?: Record<string, string>;
  /** Receives the app's JSON log lines instead of stdout (raise LOG_LEVEL in env to see them). */
  logDestination?: LogDestination;
  /** Extra modules wired into the app (e.g. a test's probe listeners, kept to that app). */
  imports?: (Type | DynamicModule)[];
  /** Listen on this port instead of any free one (a test that must know APP_URL before the start). */
  port?: number;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const own = options.databaseUrl ? undefined : await createDatabase();
  const databaseUrl = options.databaseUrl ?? own!.url;
  const dataDir = mkdtempSync(join(tmpdir(), 'latch-test-'));
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    BCRYPT_ROUNDS: '4',
    JWT_ACCESS_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
    RATE_LIMIT_ENABLED: 'false',
    REDIS_KEY_PREFIX: `latch-test-${randomBytes(4).toString('hex')}:`,
    ...options.env,
  };
  const config = loadConfig(env);
  const app = await createApp(config, { logDestination: options.logDestination, imports: options.imports });
  await app.listen(options.port ?? 0, '127.0.0.1');
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const base = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    app,
    config,
    api: new Http(`${base}/api/v1`),
    root: new Http(base),
    databaseUrl,
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      if (own) await dropDatabase(own.name);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Skips a test that needs Redis when REDIS_URL is not set, saying why. */
export function redisUrl(): string | undefined {
  return process.env.REDIS_URL || undefined;
}

export const SKIP_WITHOUT_REDIS = redisUrl() ? false : 'REDIS_URL is not set: this test needs a real Redis';

/**
 * Two instances on one database sharing one Redis (same key prefix), returned once both are
 * connected to it. Close the second first: Passport's strategies are process-wide, so the
 * instance created last checks tokens for both.
 */
export async function createInstancesSharingRedis(env: Record<string, string>): Promise<[TestApp, TestApp]> {
  const shared = { REDIS_URL: redisUrl()!, REDIS_KEY_PREFIX: `latch-pair-${randomBytes(4).toString('hex')}:`, ...env };
  const a = await createTestApp({ env: shared });
  const b = await createTestApp({ env: shared, databaseUrl: a.databaseUrl });
  try {
    await eventually(() => a.app.get(RedisService).available && b.app.get(RedisService).available, {
      what: 'both instances to reach Redis',
      timeoutMs: 10_000,
    });
  } catch (error) {
    await b.close();
    await a.close();
    throw error;
  }
  return [a, b];
}
