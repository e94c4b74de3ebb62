// fast-check generators for requests against one OpenAPI operation: well-formed and malformed
// bodies from its request schema, odd Unicode, odd headers, paths, query strings and tokens.
// Values the running service decides (the seeded user's id, password, refresh token, a live access
// token) are symbolic (`Ref`) and resolved by the World when the request is sent, so a shrunk
// counterexample stays meaningful after the service's state moved on.
import fc from 'fast-check';
import { GOOD_PASSWORD } from '../factories/users';
import type { JsonSchema, Operation } from './openapi';

export type RefName =
  | 'target.id'
  | 'target.sessionId'
  | 'target.email'
  | 'target.password'
  | 'target.refreshToken'
  | 'admin.email'
  | 'mail.resetToken'
  | 'mail.verifyToken';

export class Ref {
  constructor(readonly name: RefName) {}
  [fc.toStringMethod](): string {
    return `«${this.name}»`;
  }
}

/** A field left out of an object or a claim left out of a token. */
export const DROP = Symbol('drop');

export type Who = 'target' | 'admin';

export type AuthSpec =
  | { kind: 'none' }
  | { kind: 'live'; who: Who; variant: 'plain' | 'lowercase-scheme' | 'extra-space' | 'trailing-junk' | 'twice' }
  | { kind: 'forged'; who: Who; header: Record<string, unknown>; claims: Record<string, unknown> }
  | { kind: 'raw'; value: string };

export type BodySpec =
  { kind: 'json'; value: unknown } | { kind: 'form'; value: unknown } | { kind: 'raw'; text: string; latin1: boolean };

export interface RequestSpec {
  operation: string;
  method: string;
  /** Written before the path: '' (origin form) or a scheme and authority (absolute form). */
  origin: string;
  /** Path segments after the leading slash, raw (already percent-encoded) except Refs. */
  segments: (string | Ref)[];
  query: string;
  auth: AuthSpec;
  /** null: no Content-Type header at all. */
  contentType: string | null;
  headers: [string, string][];
  body?: BodySpec;
}

// ---- text ----------------------------------------------------------------------------------------

const ODD_UNITS = [
  '\u0000',
  '\ud800',
  '\udc00',
  '\udfff\ud800',
  '\u200f',
  '\u202e',
  '\u061c',
  '\u200b',
  '\ufeff',
  '\uffff',
  '\ufffe',
  '😀',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈',
  'e\u0301',
  'a\u0308\u0301\u0323\u0336',
  '\u0130',
  '\u0131',
  'ß',
  'ﬃ',
  '\u212a',
  '\u2126',
  '\r\n',
  '\n',
  '\t',
  '\u0007',
  '\u001b[31m',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u00a0',
  'ا',
  'ש',
  '"',
  '\\',
  "'",
  '%00',
  '%zz',
  '../',
  '<script>',
  "' OR '1'='1",
  '; DROP TABLE users; --',
  '${jndi:x}',
  '{{7*7}}',
  '@',
];

const oddUnit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_UNITS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);

/** Short strings mixing ASCII with NUL, lone surrogates, bidi marks, emoji, combining marks. */
export const oddText = fc.string({ unit: oddUnit, maxLength: 24 });

/** Strings around and far beyond every length limit (254, 256, 100 kB body). */
export const hugeText = fc
  .tuple(
    fc.constantFrom('a', 'é', '😀', '\u0000', '%', 'e\u0301'),
    fc.constantFrom(255, 257, 1000, 5000, 60_000, 110_000),
  )
  .map(([unit, n]) => unit.repeat(n));

const anyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 4, arbitrary: oddText },
  { weight: 1, arbitrary: hugeText },
);

/** A value of some other JSON type than the schema asks for (or a prototype-polluting object). */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1e308,
    1.5,
    [],
    {},
    [null],
    ['a'],
    { $gt: '' },
    JSON.parse('{"__proto__":{"roles":["admin"]}}'),
  ),
  fc.integer(),
  fc.jsonValue({ maxDepth: 2 }),
);

const bits = (s: string) => [...Buffer.from(s, 'utf8')];

/** Percent-encodes a string's UTF-8 bytes outside the unreserved set (lone surrogates become U+FFFD). */
export function percentEncode(text: string): string {
  return bits(text)
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase()}`,
    )
    .join('');
}

// ---- field values ----------------------------------------------------------------------------------

const email = fc.oneof(
  { weight: 4, arbitrary: fc.constant(new Ref('target.email')) },
  { weight: 1, arbitrary: fc.constant(new Ref('admin.email')) },
  { weight: 3, arbitrary: fc.emailAddress() },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'a@b',
      '@',
      'a@example.com',
      'A@EXAMPLE.COM',
      '\u0130@example.com',
      '"quoted local"@example.com',
      '"a\r\nBcc: x@evil.test"@example.com',
      'a@[127.0.0.1]',
      `${'a'.repeat(64)}@${'b'.repeat(189)}.com`,
      'ü@example.com',
      'a@xn--80ak6aa92e.com',
    ),
  },
  { weight: 2, arbitrary: fc.tuple(oddText, oddText).map(([a, b]) => `${a}@${b}.example.com`) },
);

const strongPassword = fc.string({ minLength: 8, maxLength: 40 }).map((s) => `${s} Zq9!x`);

const currentPassword = fc.oneof(
  { weight: 4, arbitrary: fc.constant(new Ref('target.password')) },
  { weight: 1, arbitrary: fc.constant(GOOD_PASSWORD) },
  { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
);

const newPassword = fc.oneof(
  { weight: 3, arbitrary: strongPassword },
  { weight: 1, arbitrary: fc.constantFrom('password', '12345678', 'short', 'x'.repeat(257), '😀'.repeat(8)) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 8, maxLength: 80 }) },
);

const refreshToken = fc.oneof(
  { weight: 3, arbitrary: fc.constant(new Ref('target.refreshToken')) },
  { weight: 1, arbitrary: fc.base64String({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 64 }) },
);

const username = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9_.-]{3,32}$/) },
  { weight: 1, arbitrary: fc.constantFrom('ab', 'admin', 'Admin', 'a'.repeat(33), '...', 'ädmin') },
  { weight: 1, arbitrary: fc.constant(null) },
);

const displayName = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 100 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, '', ' ', 'x'.repeat(101)) },
);

const opaqueToken = fc.oneof(fc.base64String({ maxLength: 64 }), fc.string({ maxLength: 64 }));

/** Registration reaches its success path only with an address nobody holds yet. */
const freshEmail = fc.oneof({ weight: 6, arbitrary: fc.emailAddress() }, { weight: 1, arbitrary: email });

function byName(name: string, schema: JsonSchema, op: Operation): fc.Arbitrary<unknown> {
  switch (name) {
    case 'email':
      return op.path.endsWith('/register') ? freshEmail : email;
    case 'username':
      return fc.oneof(username, email);
    case 'password':
    case 'currentPassword':
      return fc.oneof(currentPassword, newPassword);
    case 'newPassword':
      return newPassword;
    case 'refreshToken':
    case 'refresh_token':
      return refreshToken;
    case 'displayName':
      return displayName;
    case 'token':
      return opaqueToken;
    default:
      return bySchema(schema);
  }
}

function bySchema(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'number':
    case 'integer':
      return fc.integer({ min: (schema.minimum ?? 0) - 2, max: (schema.maximum ?? 1000) + 2 });
    case 'boolean':
      return fc.boolean();
    default:
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 80) });
  }
}

function fieldValue(name: string, schema: JsonSchema, op: Operation): fc.Arbitrary<unknown> {
  return fc.oneof(
    { withCrossShrink: true },
    { weight: 8, arbitrary: byName(name, schema, op) },
    { weight: 3, arbitrary: anyString },
    { weight: 2, arbitrary: wrongType },
  );
}

/** A value the operation should accept, so the fuzz also reaches the code behind validation. */
function validValue(name: string, schema: JsonSchema, op: Operation): fc.Arbitrary<unknown> {
  const registering = op.path.endsWith('/register');
  switch (name) {
    case 'email':
      return registering
        ? fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,30}$/).map((local) => `${local}@example.com`)
        : fc.constant(new Ref('target.email'));
    case 'username':
      return op.path.endsWith('/token') ? fc.constant(new Ref('target.email')) : username;
    case 'password':
      return registering || op.path.endsWith('/reset') ? strongPassword : fc.constant(new Ref('target.password'));
    case 'currentPassword':
      return fc.constant(new Ref('target.password'));
    case 'newPassword':
      return strongPassword;
    case 'displayName':
      return fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 });
    case 'token':
      return fc.constant(new Ref(op.path.endsWith('/reset') ? 'mail.resetToken' : 'mail.verifyToken'));
    default:
      return byName(name, schema, op);
  }
}

/** Every field well-formed: required ones present, optional ones sometimes. */
function validObjectFor(op: Operation, schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  return fc
    .tuple(
      ...properties.map(([name, prop]) =>
        required.has(name)
          ? validValue(name, prop, op)
          : fc.option(validValue(name, prop, op), { nil: DROP as unknown, freq: 2 }),
      ),
    )
    .map((values) => {
      const object: Record<string, unknown> = {};
      properties.forEach(([name], i) => {
        if (values[i] !== DROP) object[name] = values[i];
      });
      return object;
    });
}

const extraKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'roles', 'status', 'emailVerified', 'admin', ''),
  fc.string({ maxLength: 12 }),
);

/** An object shaped by the schema: each field present (mostly well-formed) or left out, plus extras. */
function objectFor(op: Operation, schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  const fields = properties.map(([name, prop]) =>
    fc.option(fieldValue(name, prop, op), { nil: DROP as unknown, freq: required.has(name) ? 12 : 2 }),
  );
  return fc
    .tuple(
      fc.tuple(...fields),
      fc.oneof(
        { weight: 6, arbitrary: fc.constant([] as [string, unknown][]) },
        { weight: 1, arbitrary: fc.array(fc.tuple(extraKey, wrongType), { maxLength: 2 }) },
      ),
    )
    .map(([values, extras]) => {
      const object: Record<string, unknown> = {};
      properties.forEach(([name], i) => {
        if (values[i] !== DROP) object[name] = values[i];
      });
      for (const [key, value] of extras)
        Object.defineProperty(object, key, { value, enumerable: true, configurable: true, writable: true });
      return object;
    });
}

const RAW_BODIES = [
  '',
  ' ',
  '{',
  '}',
  '{"email":',
  '{"a":1}{"b":2}',
  '[',
  'null',
  'nul',
  '"\\ud800"',
  '{"email":"\\u0000@example.com","password":"\\udc00\\ud800xxxxxxxx"}',
  '{"__proto__":{"roles":["admin"]}}',
  '{"constructor":{"prototype":{"roles":["admin"]}}}',
  '\ufeff{}',
  '{"email":"a@example.com","email":{"$ne":1}}',
  '{"email":1e999999,"password":-0}',
  '\u0000',
  'grant_type=password&username=a&password=b',
  `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
  `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`,
];

const rawBody: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(...RAW_BODIES).map((text) => ({ kind: 'raw' as const, text, latin1: false })),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 64 })
      .map((bytes) => ({ kind: 'raw' as const, text: Buffer.from(bytes).toString('latin1'), latin1: true })),
  },
);

function bodyFor(op: Operation): fc.Arbitrary<BodySpec | undefined> {
  if (!op.body) {
    return fc.oneof(
      { withCrossShrink: true },
      { weight: 12, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => ({ kind: 'json' as const, value })) },
      { weight: 1, arbitrary: rawBody },
    );
  }
  const native = op.body.mediaType === 'application/x-www-form-urlencoded' ? 'form' : 'json';
  const other = native === 'form' ? 'json' : 'form';
  const object = objectFor(op, op.body.schema);
  return fc.oneof(
    { withCrossShrink: true },
    { weight: 6, arbitrary: validObjectFor(op, op.body.schema).map((value) => ({ kind: native, value }) as BodySpec) },
    { weight: 12, arbitrary: object.map((value) => ({ kind: native, value }) as BodySpec) },
    { weight: 1, arbitrary: object.map((value) => ({ kind: other, value }) as BodySpec) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<unknown>(null, [], 1, 'text', true, [{}])
        .map((value) => ({ kind: 'json', value }) as BodySpec),
    },
    { weight: 2, arbitrary: rawBody },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

// ---- media types and headers ----------------------------------------------------------------------

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;charset=UTF-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json;;;',
  'application/json; charset',
  'application/json; charset=utf-8; charset=x',
  'application/json, text/plain',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded;;;',
  'multipart/form-data; boundary=x',
  'multipart/form-data',
  'text/plain',
  'text/plain; charset=utf-8',
  'application/xml',
  'application/problem+json',
  'application/vnd.api+json',
  'application/*',
  '*/*',
  '/',
  '',
  ';',
  'application/json\u00ff',
  'application/octet-stream',
];

function contentTypeFor(op: Operation): fc.Arbitrary<string | null> {
  const native = op.body?.mediaType ?? 'application/json';
  return fc.oneof(
    { withCrossShrink: true },
    { weight: 8, arbitrary: fc.constant(native) },
    { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
}

const headerText = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.constantFrom('\u0000', '\u0007', '\u007f', '\u00ff', '\u00e9', '\t', ' ') },
  ),
  maxLength: 40,
});

const longHeaderValue = fc.constantFrom(100, 4000, 8000, 17_000, 70_000).map((n) => 'a'.repeat(n));

const oddHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('content-type'), fc.constantFrom(...CONTENT_TYPES)),
  fc.tuple(
    fc.constant('accept-encoding'),
    fc.constantFrom('gzip', 'br', 'deflate', 'identity;q=0', '*', 'gzip;q=x', 'zstd'),
  ),
  fc.tuple(fc.constant('accept'), fc.constantFrom('*/*', 'text/html', 'application/xml', 'text/event-stream', '')),
  fc.tuple(fc.constant('x-forwarded-for'), fc.oneof(fc.ipV4(), fc.ipV6(), headerText)),
  fc.tuple(fc.constant('origin'), fc.constantFrom('null', 'https://evil.test', 'http://localhost:3000')),
  fc.tuple(fc.constantFrom('x-request-id', 'user-agent', 'cookie', 'x-api-key', 'referer', 'forwarded'), headerText),
  fc.tuple(fc.constantFrom('x-long', 'user-agent', 'cookie', 'x-request-id'), longHeaderValue),
  fc.tuple(fc.constantFrom('expect', 'te', 'upgrade'), fc.constantFrom('100-continue', 'trailers', 'websocket', 'h2c')),
  // A second Host or Content-Length beside the ones always sent (never a positive length with no
  // body: the server would rightly wait for it).
  fc.tuple(fc.constant('host'), fc.constantFrom('127.0.0.1', 'evil.test', '', 'a b')),
  fc.tuple(fc.constant('content-length'), fc.constantFrom('-1', 'abc', '0x10', '1 1', '')),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), headerText),
);

// ---- tokens --------------------------------------------------------------------------------------

const claimValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(DROP) },
  { weight: 3, arbitrary: oddText },
  { weight: 2, arbitrary: wrongType },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      'not-a-uuid',
      '../../etc/passwd',
      '\u0000',
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
    ),
  },
  { weight: 1, arbitrary: fc.uuid() },
);

const rolesValue: fc.Arbitrary<unknown> = fc.oneof(
  claimValue,
  fc.constantFrom<unknown>([], ['admin'], ['user', 'admin'], ['root'], 'admin', [1], [['admin']]),
  fc.constantFrom(9, 100, 5_000).map((n) => Array<string>(n).fill('admin')),
);

const timeValue: fc.Arbitrary<unknown> = fc.oneof(
  claimValue,
  fc.constantFrom<unknown>(-1, 0, 1e20, 9_999_999_999, '9999999999', 1.5, -1e308),
);

const claimChanges = {
  sub: claimValue,
  sid: claimValue,
  jti: claimValue,
  roles: rolesValue,
  exp: timeValue,
  iat: timeValue,
  nbf: timeValue,
  iss: claimValue,
  aud: fc.oneof(claimValue, fc.constant(['latch', 'other'])),
  typ: claimValue,
  padding: fc.constantFrom(10, 6_000, 20_000).map((n) => 'p'.repeat(n)),
};

/**
 * Mostly one odd claim in an otherwise genuine token (so the odd value reaches whatever reads it
 * after the checks it passes), sometimes several at once.
 */
const forgedClaims: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.oneof(
      ...Object.entries(claimChanges).map(([key, value]) =>
        (value as fc.Arbitrary<unknown>).map((v) => ({ [key]: v })),
      ),
    ),
  },
  { weight: 1, arbitrary: fc.record(claimChanges, { requiredKeys: [] }) },
);

const headerChanges = fc.record(
  {
    typ: fc.oneof(fc.constantFrom<unknown>('JWT', 'at+jwt', 'refresh+jwt', '', DROP), claimValue),
    alg: fc.constantFrom<unknown>('HS256', 'none', 'HS512', 'RS256', 'hs256', DROP),
    kid: claimValue,
    crit: fc.constant(['exp']),
  },
  { requiredKeys: [] },
);

const forgedHeader = fc.oneof(
  { withCrossShrink: true },
  { weight: 3, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: headerChanges },
);

const who = fc.constantFrom<Who>('target', 'admin');

const RAW_AUTH = [
  'Bearer',
  'Bearer ',
  'bearer',
  'Basic Zm9vOmJhcg==',
  'Bearer a.b.c',
  'Bearer ....',
  'Bearer eyJhbGciOiJub25lIn0.e30.',
  'Bearer eyJhbGciOiJIUzI1NiJ9.bnVsbA.x',
  'Bearer %00',
  'Token abc',
  'Bearer \u0000',
  `Bearer ${'A'.repeat(20_000)}`,
];

function authFor(op: Operation): fc.Arbitrary<AuthSpec> {
  const live = fc.record({
    kind: fc.constant('live' as const),
    who,
    variant: fc.oneof(
      { withCrossShrink: true },
      { weight: 10, arbitrary: fc.constant('plain' as const) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('lowercase-scheme' as const, 'extra-space' as const, 'trailing-junk' as const),
      },
      { weight: 1, arbitrary: fc.constant('twice' as const) },
    ),
  });
  const forged = fc.record({ kind: fc.constant('forged' as const), who, header: forgedHeader, claims: forgedClaims });
  const raw = fc.oneof(fc.constantFrom(...RAW_AUTH), headerText).map((value) => ({ kind: 'raw' as const, value }));
  const none = fc.constant({ kind: 'none' as const });
  return op.secured
    ? fc.oneof(
        { withCrossShrink: true },
        { weight: 8, arbitrary: live },
        { weight: 4, arbitrary: forged },
        { weight: 1, arbitrary: raw },
        { weight: 1, arbitrary: none },
      )
    : fc.oneof(
        { withCrossShrink: true },
        { weight: 8, arbitrary: none },
        { weight: 1, arbitrary: live },
        { weight: 1, arbitrary: forged },
        { weight: 1, arbitrary: raw },
      );
}

// ---- paths and query strings ---------------------------------------------------------------------

const ODD_SEGMENTS = [
  '%zz',
  '%00',
  '%',
  '%%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%F0%9F%98%80',
  '%C0%AF',
  '%FF',
  '..',
  '.',
  '%2e%2e',
  '%2F',
  '%5C',
  '~',
  '*',
  ';x=1',
  'a%00b',
  "1'or'1",
  'null',
  '0',
  '-1',
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  'é',
  ' ',
  '\u0000',
  'a b',
];

const oddSegment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ODD_SEGMENTS) },
  { weight: 2, arbitrary: fc.constantFrom(199, 200, 201, 531, 2_000, 9_000, 70_000).map((n) => 'a'.repeat(n)) },
  { weight: 3, arbitrary: oddText.map(percentEncode) },
);

const idValue: fc.Arbitrary<string | Ref> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(new Ref('target.id'), new Ref('target.sessionId')) },
  { weight: 3, arbitrary: fc.uuid() },
  { weight: 3, arbitrary: oddSegment },
);

type PathMutation =
  | { kind: 'none' }
  | { kind: 'replace' | 'append' | 'insert'; at: number; segment: string }
  | { kind: 'dot-dot'; at: number }
  | { kind: 'dot'; at: number }
  | { kind: 'double-slash'; at: number }
  | { kind: 'trailing-slash' }
  | { kind: 'upper'; at: number }
  | { kind: 'encode-letter'; at: number };

const pathMutation: fc.Arbitrary<PathMutation> = fc.oneof(
  { withCrossShrink: true },
  { weight: 10, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('replace' as const, 'append' as const, 'insert' as const),
      at: fc.nat(8),
      segment: oddSegment,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'dot-dot' as const,
        'dot' as const,
        'double-slash' as const,
        'upper' as const,
        'encode-letter' as const,
      ),
      at: fc.nat(8),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'trailing-slash' as const }) },
);

function applyMutation(segments: (string | Ref)[], m: PathMutation): (string | Ref)[] {
  const out = [...segments];
  const at = 'at' in m ? m.at % out.length : 0;
  const text = (s: string | Ref) => (typeof s === 'string' ? s : undefined);
  switch (m.kind) {
    case 'none':
      return out;
    case 'replace':
      out[at] = m.segment;
      return out;
    case 'append':
      return [...out, m.segment];
    case 'insert':
      out.splice(at, 0, m.segment);
      return out;
    case 'dot-dot':
      out.splice(at + 1, 0, 'x', '..');
      return out;
    case 'dot':
      out.splice(at, 0, '.');
      return out;
    case 'double-slash':
      out.splice(at, 0, '');
      return out;
    case 'trailing-slash':
      return [...out, ''];
    case 'upper':
      out[at] = text(out[at])?.toUpperCase() ?? out[at];
      return out;
    case 'encode-letter': {
      const s = text(out[at]);
      if (s && /^[a-z]/.test(s)) out[at] = `%${s.charCodeAt(0).toString(16)}${s.slice(1)}`;
      return out;
    }
  }
}

function queryValue(schema: JsonSchema): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: bySchema(schema).map((v) => percentEncode(String(v))) },
    {
      weight: 2,
      arbitrary: fc.constantFrom('', '-1', '0', '1e309', 'NaN', 'abc', '%00', '%zz', '9'.repeat(400), '1.5', '0x10'),
    },
    { weight: 1, arbitrary: oddText.map(percentEncode) },
  );
}

const ODD_QUERIES = [
  '?',
  '?%zz',
  '?a=%00',
  '?=',
  '?&&&',
  '?__proto__[roles]=admin',
  '?constructor[prototype][x]=1',
  '?access_token=x',
  `?q=${'x'.repeat(9_000)}`,
  '?a[b][c][d][e][f]=1',
  '?#frag',
];

function queryFor(op: Operation): fc.Arbitrary<string> {
  const known = op.query.map((p) =>
    fc.option(
      fc
        .array(queryValue(p.schema), { minLength: 1, maxLength: 2 })
        .map((values) => values.map((v) => `${p.name}=${v}`).join('&')),
      { nil: undefined, freq: 2 },
    ),
  );
  const shaped = fc
    .tuple(...known)
    .map((parts) => parts.filter((p): p is string => p !== undefined).join('&'))
    .map((q) => (q ? `?${q}` : ''));
  return fc.oneof(
    { withCrossShrink: true },
    { weight: 8, arbitrary: fc.constant('') },
    { weight: op.query.length ? 6 : 0, arbitrary: shaped },
    { weight: 2, arbitrary: fc.constantFrom(...ODD_QUERIES) },
  );
}

// ---- requests ------------------------------------------------------------------------------------

function segmentsOf(op: Operation): fc.Arbitrary<(string | Ref)[]> {
  const parts = op.path.split('/').filter(Boolean);
  return fc.tuple(...parts.map((p) => (/^\{.+\}$/.test(p) ? idValue : fc.constant<string | Ref>(p))));
}

export function requestFor(op: Operation): fc.Arbitrary<RequestSpec> {
  return fc
    .record({
      origin: fc.oneof(
        { withCrossShrink: true },
        { weight: 20, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('http://127.0.0.1', 'http://evil.test', 'https://a:1', '*') },
      ),
      segments: segmentsOf(op),
      mutation: pathMutation,
      query: queryFor(op),
      auth: authFor(op),
      contentType: contentTypeFor(op),
      headers: fc.oneof(
        { withCrossShrink: true },
        { weight: 6, arbitrary: fc.constant([] as [string, string][]) },
        { weight: 3, arbitrary: fc.array(oddHeader, { minLength: 1, maxLength: 3 }) },
      ),
      body: bodyFor(op),
    })
    .map(({ origin, segments, mutation, query, auth, contentType, headers, body }) => ({
      operation: `${op.method} ${op.path}`,
      method: op.method,
      origin,
      segments: applyMutation(segments, mutation),
      query,
      auth,
      contentType: body ? contentType : null,
      headers,
      body,
    }));
}

export function anyRequest(operations: Operation[]): fc.Arbitrary<RequestSpec> {
  return fc.oneof(...operations.map(requestFor));
}
