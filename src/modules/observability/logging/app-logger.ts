// The application's logger: pino, JSON lines in production and tests, pretty-printed in development.
// AppLogger adapts it to Nest's LoggerService, so Nest's own messages and every `new Logger(ctx)`
// in the code base go through the same redaction and carry the current request's id, user and
// session (read from the request context on each line).
import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Level, type Logger as PinoLogger } from 'pino';
import type { AppConfig } from '../../../config/configuration';
import { currentRequestContext, requestLogFields } from '../../../common/request-context';
import { redactText, redactValue } from './redact';

export type LogDestination = DestinationStream;

function createPino(config: Pick<AppConfig, 'logLevel' | 'nodeEnv'>, destination?: LogDestination): PinoLogger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      // Structured fields: secret keys at any depth, errors and their causes.
      log: (object) => redactValue(object) as Record<string, unknown>,
    },
    mixin: () => {
      const context = currentRequestContext();
      return context ? requestLogFields(context) : {};
    },
    // Last line of defence for free text: the message, stacks, anything interpolated.
    hooks: { streamWrite: (line) => redactText(line) },
  };
  if (destination) return pino(options, destination);
  if (config.nodeEnv === 'development') {
    // Loaded only here: production never needs it (about 1 MB of heap).
    const pinoPretty = require('pino-pretty') as typeof import('pino-pretty');
    return pino(options, pinoPretty({ colorize: process.stdout.isTTY, sync: true, translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(options, pino.destination({ dest: 1, sync: true }));
}

const NEST_TO_PINO: Record<string, Level> = {
  log: 'info',
  error: 'error',
  warn: 'warn',
  debug: 'debug',
  verbose: 'trace',
  fatal: 'fatal',
};

const STACK_LINE = /\n\s+at /;

export class AppLogger implements LoggerService {
  constructor(readonly pino: PinoLogger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /**
   * Nest's conventions: the last string argument is the context (the class name); for `error`,
   * a string before it is a stack trace. Objects become fields, errors become `err`.
   */
  private write(method: string, message: unknown, params: unknown[]): void {
    const level = NEST_TO_PINO[method] ?? 'info';
    if (!this.pino.isLevelEnabled(level)) return;
    const rest = [...params];
    const fields: Record<string, unknown> = {};
    const last = rest[rest.length - 1];
    if (
      typeof last === 'string' &&
      !STACK_LINE.test(last) &&
      (method !== 'error' || rest.length >= 2 || typeof message !== 'string')
    ) {
      fields.context = last;
      rest.pop();
    }
    for (const param of rest) {
      if (param === undefined || param === null) continue;
      if (typeof param === 'string') fields.stack = param;
      else if (param instanceof Error) fields.err = param;
      else if (typeof param === 'object') Object.assign(fields, param);
    }
    if (message instanceof Error) {
      fields.err = message;
      this.pino[level](fields, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.pino[level](fields, String(message));
    }
  }
}

export function createAppLogger(
  config: Pick<AppConfig, 'logLevel' | 'nodeEnv'>,
  destination?: LogDestination,
): AppLogger {
  return new AppLogger(createPino(config, destination));
}
