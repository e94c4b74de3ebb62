// Production entry point: configuration, database, HTTP server, and an orderly shutdown.
import './threadpool';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { bootstrapLogger as logger, createApp } from './bootstrap';
import { ConfigError } from './config/env';
import { loadConfig } from './config/configuration';
import { requestsInFlight } from './common/lifecycle/request-deadline';
import { startIdleCollector } from './common/memory/idle-collector';
import { configuredOrEmbeddedDatabase } from './database/embedded-postgres';
import { createAppLogger } from './modules/observability/logging/app-logger';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // JSON (or, in development, pretty) lines from the first message on, not only once Nest is up.
  const appLogger = createAppLogger(config.app);
  Logger.overrideLogger(appLogger);
  const database = await configuredOrEmbeddedDatabase(config, logger);
  if (config.auth.jwtAlgorithm === 'HS256' && config.auth.jwtAccessSecretGenerated) {
    logger.warn('JWT_ACCESS_SECRET is not set: using a random secret, so tokens die with this process');
  }

  const app = await createApp(config, { logger: appLogger });
  await app.listen(config.app.port, config.app.host);
  logger.log(`Latch listening on http://${config.app.host}:${config.app.port} (docs at /docs)`);
  // With --expose-gc (the shipped flags): one compacting collection when the process goes quiet,
  // after start and after load, so idle RSS is not the heap of the last burst (docs/operations.md#memory);
  // never while a request is waiting for an answer.
  startIdleCollector({ inFlight: requestsInFlight });

  // SIGTERM/SIGINT: stop accepting, finish in-flight requests and after-response work, close the
  // pools, stop the embedded database, exit 0; a hard stop at 10 s bounds a stuck dependency.
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: shutting down`);
    setTimeout(() => {
      logger.error('Shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    app
      .close()
      .then(() => database.stop())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error(`Shutdown failed: ${String(error)}`);
        process.exit(1);
      });
  };
  // Importing embedded-postgres installs async-exit-hook, whose signal handlers exit at once with
  // 143/130 and cut in-flight requests off. This handler owns the signals and stops the database itself.
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

const SHUTDOWN_DEADLINE_MS = 9500;

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exit(1);
});
