// The building blocks of Latch's configuration: one declared variable knows its name, how to parse
// it, its default, its bounds and whether it is secret. The variables themselves are declared once,
// in variables.ts. A bad value stops the start with one line naming the variable; secret values
// are never echoed.
import { isIP } from 'node:net';

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export type Source = Record<string, string | undefined>;

/** Unset and blank are the same: the default applies. */
export function rawValue(source: Source, name: string): string | undefined {
  const value = source[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

interface Common {
  description: string;
  /** A secret's value never appears in an error message. */
  secret?: boolean;
}

/** One environment variable: read from the source, checked, and turned into its typed value. */
export interface Variable<T> {
  readonly name: string;
  readonly description: string;
  readonly secret: boolean;
  /** The default as the documentation states it; undefined when the variable is unset by default. */
  readonly shownDefault: string | undefined;
  read(source: Source): T;
}

function variable<T>(
  name: string,
  options: Common & {
    parse: (value: string) => T;
    fallback: () => T;
    shownDefault: string | undefined;
  },
): Variable<T> {
  const secret = options.secret ?? false;
  return {
    name,
    description: options.description,
    secret,
    shownDefault: options.shownDefault,
    read(source) {
      const value = rawValue(source, name);
      if (value === undefined) return options.fallback();
      try {
        return options.parse(value);
      } catch (error) {
        // A parser that quotes its input must not leak a secret through the message.
        if (secret && error instanceof ConfigError && error.message.includes(value)) {
          throw new ConfigError(name, 'is not valid');
        }
        throw error;
      }
    },
  };
}

type WithDefault<T> = { default: T };

export function int(
  name: string,
  options: Common & { default: number | (() => number); min: number; max?: number; shownDefault?: string },
): Variable<number> {
  const { min, max = Number.MAX_SAFE_INTEGER } = options;
  const fallback = options.default;
  return variable(name, {
    ...options,
    shownDefault: options.shownDefault ?? String(fallback),
    fallback: typeof fallback === 'function' ? fallback : () => fallback,
    parse: (value) => {
      if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be a whole number (got "${value}")`);
      const parsed = Number(value);
      if (parsed < min || parsed > max) {
        throw new ConfigError(name, `must be between ${min} and ${max} (got ${parsed})`);
      }
      return parsed;
    },
  });
}

export function bool(name: string, options: Common & WithDefault<boolean>): Variable<boolean> {
  return variable(name, {
    ...options,
    shownDefault: String(options.default),
    fallback: () => options.default,
    parse: (raw) => {
      const value = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(value)) return true;
      if (['false', '0', 'no', 'off'].includes(value)) return false;
      throw new ConfigError(name, `must be true or false (got "${value}")`);
    },
  });
}

export function oneOf<const T extends string>(
  name: string,
  allowed: readonly T[],
  options: Common & WithDefault<NoInfer<T>>,
): Variable<T> {
  return variable(name, {
    ...options,
    shownDefault: options.default,
    fallback: () => options.default,
    parse: (value) => {
      if (!(allowed as readonly string[]).includes(value)) {
        throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${value}")`);
      }
      return value as T;
    },
  });
}

interface TextOptions extends Common {
  /** Checks the value; returns why it is refused (the value is never quoted for a secret). */
  check?: (value: string) => string | null;
  shownDefault?: string;
}

/** Free text: with a default it is always a string, without one it may be undefined. */
export function text(name: string, options: TextOptions & { default: string | (() => string) }): Variable<string>;
export function text(name: string, options: TextOptions): Variable<string | undefined>;
export function text(
  name: string,
  options: TextOptions & { default?: string | (() => string) },
): Variable<string | undefined> {
  const fallback = options.default;
  return variable(name, {
    ...options,
    shownDefault: options.shownDefault ?? (typeof fallback === 'string' ? fallback : undefined),
    fallback: typeof fallback === 'function' ? fallback : () => fallback,
    parse: (value) => {
      const problem = options.check?.(value);
      if (problem) throw new ConfigError(name, problem);
      return value;
    },
  });
}

/** URLs may carry credentials, so a bad one is reported without its value. */
export function url(
  name: string,
  protocols: readonly string[],
  options: Common & { default: string; normalize?: (value: string) => string },
): Variable<string>;
export function url(name: string, protocols: readonly string[], options: Common): Variable<string | undefined>;
export function url(
  name: string,
  protocols: readonly string[],
  options: Common & { default?: string; normalize?: (value: string) => string },
): Variable<string | undefined> {
  const normalize = options.normalize ?? ((value: string) => value);
  return variable(name, {
    ...options,
    shownDefault: options.default,
    fallback: () => (options.default === undefined ? undefined : normalize(options.default)),
    parse: (value) => {
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        throw new ConfigError(name, 'is not a valid URL');
      }
      if (!protocols.includes(parsed.protocol)) {
        throw new ConfigError(name, `must use ${protocols.map((p) => `${p}//`).join(' or ')}`);
      }
      return normalize(value);
    },
  });
}

/** A comma-separated list; each entry is checked on its own. */
export function list(name: string, options: Common & { check?: (entry: string) => string | null }): Variable<string[]> {
  return variable(name, {
    ...options,
    shownDefault: undefined,
    fallback: () => [],
    parse: (value) => {
      const entries = splitList(value);
      for (const entry of entries) {
        const problem = options.check?.(entry);
        if (problem) throw new ConfigError(name, problem);
      }
      return entries;
    },
  });
}

/** Any other shape: parse() turns the trimmed, non-empty value into T or throws a ConfigError. */
export function custom<T>(
  name: string,
  options: Common & { default: T; shownDefault?: string; parse: (value: string) => T },
): Variable<T> {
  return variable(name, {
    ...options,
    shownDefault: options.shownDefault ?? String(options.default),
    fallback: () => options.default,
  });
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

export type TrustProxy = boolean | string[];

export function parseTrustProxy(value: string): TrustProxy {
  if (value.toLowerCase() === 'false') return false;
  if (value.toLowerCase() === 'true') return true;
  const entries = splitList(value);
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

/** A declaration: namespaces of properties, each a variable or a group of them. */
export interface Declaration {
  [key: string]: Variable<unknown> | Declaration;
}

function isVariable(entry: Variable<unknown> | Declaration): entry is Variable<unknown> {
  return typeof (entry as Variable<unknown>).read === 'function';
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The typed value of a declaration; properties whose value may be undefined are optional. */
export type Values<D> =
  D extends Variable<infer T>
    ? T
    : Simplify<
        { [K in keyof D as undefined extends Values<D[K]> ? never : K]: Values<D[K]> } & {
          [K in keyof D as undefined extends Values<D[K]> ? K : never]?: Values<D[K]>;
        }
      >;

/** Reads every declared variable, in declaration order. */
export function readDeclaration<D extends Declaration>(declaration: D, source: Source): Values<D> {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(declaration)) {
    out[key] = isVariable(entry) ? entry.read(source) : readDeclaration(entry, source);
  }
  return out as Values<D>;
}

export interface DeclaredVariable {
  name: string;
  /** Where the value lands, e.g. "auth.jwtAccessTtl". */
  path: string;
  default: string | undefined;
  secret: boolean;
  description: string;
}

export function listDeclaration(declaration: Declaration, prefix = ''): DeclaredVariable[] {
  return Object.entries(declaration).flatMap(([key, entry]) =>
    isVariable(entry)
      ? [
          {
            name: entry.name,
            path: `${prefix}${key}`,
            default: entry.shownDefault,
            secret: entry.secret,
            description: entry.description,
          },
        ]
      : listDeclaration(entry, `${prefix}${key}.`),
  );
}
