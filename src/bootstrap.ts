// Builds a configured application: the same adapter options, parsers, pipes, filter and API docs
// for the production entry point (main.ts) and for every e2e test (test/utils/create-test-app.ts).
import { DynamicModule, Logger, LoggerService, LogLevel, RequestMethod, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AppModule } from './app.module';
import { AppError, ErrorCode } from './common/errors/app-error';
import { registerHttpEdge, sendClientError, sendFrameworkError } from './common/http/http-edge';
import { API_KEY_SCHEME, BEARER_SCHEME, OAUTH2_SCHEME, ProblemDetailsSchema } from './common/http/openapi';
import { createValidationPipe } from './common/http/validation';
import { installRequestScope } from './common/lifecycle/request-scope';
import type { LatchConfig } from './config/configuration';
import type { TrustProxy } from './config/env';
import { RequestObserver } from './modules/observability/http/request-observer';
import { AppLogger, createAppLogger, LogDestination } from './modules/observability/logging/app-logger';

export const API_PREFIX = 'api/v1';
export const BODY_LIMIT_BYTES = 100 * 1024;

/**
 * Fastify's trustProxy. `true` believes only the nearest hop (the socket peer is the proxy, the
 * last X-Forwarded-For entry is the client), never the client-supplied rest of the chain.
 */
function fastifyTrustProxy(trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (trust === true) return (_address, hop) => hop === 0;
  return trust;
}

// Async: the adapter completes a two-argument parser through the promise it returns.
async function parseJson(_request: FastifyRequest, body: Buffer): Promise<unknown> {
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined; // an empty body with a JSON content type is no body
  try {
    return JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
  } catch (error) {
    throw new AppError(ErrorCode.MalformedRequest, 'The request body is not valid JSON.', { cause: error });
  }
}

export interface CreateAppOptions {
  /** Nest's logger; by default an AppLogger (pino, redacting) built from LOG_LEVEL. */
  logger?: LoggerService | LogLevel[] | false;
  /** Where the default AppLogger writes JSON lines (tests capture them); stdout otherwise. */
  logDestination?: LogDestination;
  /** Modules wired in beside AppModule's own (e.g. a test's probe listeners). */
  imports?: (Type | DynamicModule)[];
}

export async function createApp(config: LatchConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: fastifyTrustProxy(config.app.trustProxy),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors: sendFrameworkError,
    clientErrorHandler: sendClientError,
  });
  const appLogger =
    options.logger instanceof AppLogger ? options.logger : createAppLogger(config.app, options.logDestination);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.imports), adapter, {
    logger: options.logger ?? appLogger,
    bufferLogs: false,
    abortOnError: false,
  });

  app.useBodyParser('application/json', { bodyLimit: BODY_LIMIT_BYTES }, parseJson);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('text/plain');
  // The request context, then request id, Server-Timing, metrics and logs: first, so every later hook is timed.
  installRequestScope(fastify);
  app.get(RequestObserver).install(fastify, appLogger.pino);
  await registerHttpEdge(app, config.app); // headers, CORS, compression: before any route exists

  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health/{*path}', method: RequestMethod.ALL },
      { path: 'metrics', method: RequestMethod.ALL },
      { path: '.well-known/{*path}', method: RequestMethod.ALL },
    ],
  });
  app.useGlobalPipes(createValidationPipe());
  setupOpenApi(app);
  return app;
}

// The document is built on the first /docs or /docs-json request (then kept): scanning every route
// and DTO at start costs heap that a service nobody browses the docs of never gets back.
function setupOpenApi(app: NestFastifyApplication): void {
  const buildDocument = (): OpenAPIObject =>
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Latch')
        .setDescription(
          'Self-hosted authentication: register, sign in, JWT access tokens and rotating refresh tokens. ' +
            'Errors are RFC 9457 problem details with a stable `code`.',
        )
        .setVersion('1')
        .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_SCHEME)
        .addOAuth2(
          { type: 'oauth2', flows: { password: { tokenUrl: `/${API_PREFIX}/auth/token`, scopes: {} } } },
          OAUTH2_SCHEME,
        )
        .addApiKey(
          { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'an API key (latch_…)' },
          API_KEY_SCHEME,
        )
        .build(),
      { extraModels: [ProblemDetailsSchema] },
    );
  SwaggerModule.setup('docs', app, buildDocument, {
    jsonDocumentUrl: 'docs-json',
    useGlobalPrefix: false,
    swaggerOptions: { persistAuthorization: true },
  });
}

export const bootstrapLogger = new Logger('Latch');
