// What every response carries at the HTTP edge, registered on Fastify before any route: security
// headers (helmet's defaults, written from one precomputed set), CORS for the configured origins
// only (@fastify/cors through app.enableCors) and compression of bodies over 1 kB
// (@fastify/compress). See docs/api.md.
import compress from '@fastify/compress';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AppConfig } from '../../config/configuration';
import { AppError, ErrorCode } from '../errors/app-error';
import { problemFor, sendProblem } from '../filters/problem-details.filter';

export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * Swagger UI is the one HTML page: it loads its own scripts and styles from /docs, uses inline
 * styles and data: images, and calls the API (the Authorize button posts to the token endpoint).
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMPRESS_THRESHOLD_BYTES = 1024;

function isDocsPage(url: string): boolean {
  return url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs?');
}

/** Server-sent events must reach the client as they happen, not when a compressor flushes. */
function compressible(contentType: string): boolean {
  if (contentType.startsWith('text/event-stream')) return false;
  return /^(text\/|application\/(?:[\w.+-]*\+)?json|application\/javascript|image\/svg\+xml)/.test(contentType);
}

/**
 * Helmet's defaults (nosniff, HSTS, frame and cross-origin policies) with the contract's referrer
 * policy, and the contract's CSP. Fixed for the life of the process, so they are built once and
 * written in one call per request (helmet itself rebuilt its middleware and set each header on the
 * raw response, validating it, on every request). Fastify sends no X-Powered-By.
 */
const SECURITY_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
} as const;

const API_HEADERS = Object.freeze({ ...SECURITY_HEADERS, 'content-security-policy': API_CSP });
const DOCS_HEADERS = Object.freeze({ ...SECURITY_HEADERS, 'content-security-policy': DOCS_CSP });

/** The security headers of a response to this URL (the Swagger UI page has its own CSP). */
export function securityHeaders(url: string): Readonly<Record<string, string>> {
  return isDocsPage(url) ? DOCS_HEADERS : API_HEADERS;
}

export async function registerHttpEdge(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    void reply.headers(securityHeaders(request.url));
    done();
  });

  // Browsers may call the API only from the configured origins; any other origin (including
  // `null`) gets no CORS headers at all, never a reflection of itself. With no origins configured
  // no origin is allowed, so there is no CORS hook at all (and a preflight is a 404 like any
  // unknown route: either way the browser refuses the cross-origin call).
  if (config.corsOrigins.length > 0) enableCors(app, config);

  // Node answers an `Expect` other than 100-continue with its own bare 417; RFC 9110 lets a server
  // ignore an expectation it does not know, so the request goes on to the router like any other.
  const server = app.getHttpServer();
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) =>
    server.emit('request', request, response),
  );

  await app.register(compress, {
    global: true,
    threshold: COMPRESS_THRESHOLD_BYTES,
    encodings: ['br', 'gzip', 'deflate'],
    customTypes: compressible,
    globalDecompression: false, // request bodies are taken as sent: no decompression bombs
  });
}

function enableCors(app: NestFastifyApplication, config: AppConfig): void {
  app.enableCors({
    origin: config.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Key'],
    exposedHeaders: ['Retry-After', 'RateLimit', 'RateLimit-Policy', 'WWW-Authenticate'],
    credentials: false,
    maxAge: config.corsMaxAge,
  });
}

/**
 * Fastify's `frameworkErrors`: a request its router cannot read (a bad percent-escape, an over-long
 * path parameter) is answered before any hook runs, so the contract's headers are set here and the
 * error goes through the one problem writer: 400 MALFORMED_REQUEST as problem+json.
 */
export function sendFrameworkError(error: Error, request: FastifyRequest, reply: FastifyReply): void {
  void reply
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', API_CSP)
    .header('cache-control', 'no-store');
  sendProblem(error, request, reply);
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refuses (headers over 16 kB, a bad
 * byte in the request line or a header, a broken chunked body) never becomes a request, so the
 * answer is written on the socket here, in the contract's format: 400 MALFORMED_REQUEST.
 */
export function sendClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const detail =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? 'The request headers are larger than the server accepts.'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'The request did not arrive in time.'
          : 'The request could not be read as HTTP.';
    const body = JSON.stringify(problemFor(new AppError(ErrorCode.MalformedRequest, detail)));
    socket.write(
      [
        'HTTP/1.1 400 Bad Request',
        'Content-Type: application/problem+json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Cache-Control: no-store',
        'X-Content-Type-Options: nosniff',
        'Referrer-Policy: no-referrer',
        `Content-Security-Policy: ${API_CSP}`,
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
    );
  }
  socket.destroy(error);
}
