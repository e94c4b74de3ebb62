// The accounts the fuzzer plays with, and the resolution of a symbolic request into bytes on the
// wire. The fuzzer may log its accounts out, rotate their refresh tokens, change the target's
// password or have the admin disable it: the World follows (it reads the answers) and signs back in,
// so later requests still reach the code behind a valid session.
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { login, registerUser } from '../factories/users';
import { query } from '../utils/database';
import type { TestApp } from '../utils/create-test-app';
import { DROP, type AuthSpec, type BodySpec, Ref, type RequestSpec, type Who, percentEncode } from './arbitraries';
import type { WireRequest, WireResponse } from './wire';

interface Account {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export interface ResolvedRequest {
  wire: WireRequest;
  /** Every password the request carried, which no answer may echo. */
  passwords: string[];
  /** Every other string the request carried, which an answer may echo (a display name, an e-mail). */
  sentStrings: string[];
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

function withChanges(base: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value === DROP) delete out[key];
    else out[key] = value;
  }
  return out;
}

/** Form encoding of any JSON value: arrays repeat the key, objects nest with brackets. */
function formPairs(key: string, value: unknown, out: string[]): void {
  if (Array.isArray(value)) value.forEach((v) => formPairs(key, v, out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) formPairs(`${key}[${k}]`, v, out);
  } else out.push(`${percentEncode(key)}=${percentEncode(String(value))}`);
}

function collectStrings(value: unknown, key: string, sent: string[], passwords: string[]): void {
  if (typeof value === 'string') {
    if (/password/i.test(key)) passwords.push(value);
    else sent.push(value);
  } else if (Array.isArray(value)) value.forEach((v) => collectStrings(v, key, sent, passwords));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      sent.push(k);
      collectStrings(v, k, sent, passwords);
    }
  }
}

function sentJson(request: ResolvedRequest): Record<string, unknown> {
  try {
    return JSON.parse(request.wire.body?.toString('utf8') ?? '{}') ?? {};
  } catch {
    return {};
  }
}

export class World {
  private target!: Account;
  private admin!: Account;
  private stale = new Set<Who>();
  /** Sign-ins the World had to do to keep its accounts usable (reported, not asserted). */
  repairs = 0;
  failedRepairs = 0;
  lastRepairError = '';

  private constructor(private readonly t: TestApp) {}

  static async create(t: TestApp): Promise<World> {
    const world = new World(t);
    world.target = await world.signIn(await registerUser(t.api, { username: 'fuzz_target' }));
    const admin = await registerUser(t.api, { username: 'fuzz_admin' });
    await query(t.databaseUrl, `UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [admin.id]);
    world.admin = await world.signIn(admin);
    return world;
  }

  private async signIn(user: { id: string; email: string; password: string }): Promise<Account> {
    const session = await login(this.t.api, user);
    return { ...user, accessToken: session.accessToken, refreshToken: session.refreshToken };
  }

  private lookup(ref: Ref): string {
    switch (ref.name) {
      case 'target.id':
        return this.target.id;
      case 'target.sessionId':
        return String(claimsOf(this.target.accessToken).sid);
      case 'target.email':
        return this.target.email;
      case 'target.password':
        return this.target.password;
      case 'target.refreshToken':
        return this.target.refreshToken;
      case 'admin.email':
        return this.admin.email;
      case 'mail.resetToken':
        return this.newestMailedToken('reset-password');
      case 'mail.verifyToken':
        return this.newestMailedToken('verify-email');
    }
  }

  /** Who each mailed token was sent to, so a successful reset is followed to the right account. */
  private readonly tokenRecipients = new Map<string, string>();

  /**
   * The token in the newest reset or verification mail (written as .eml files, since the test app
   * has no SMTP_URL), so that the fuzz also reaches those operations' success paths.
   */
  private newestMailedToken(template: string): string {
    const dir = join(this.t.dataDir, 'mail');
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.includes(`-${template}-`) && f.endsWith('.eml'));
    } catch {
      return 'no-mail-yet';
    }
    const newest = files.sort().pop();
    if (!newest) return 'no-mail-yet';
    const raw = readFileSync(join(dir, newest), 'utf8').replace(/=\r?\n/g, '');
    const token = /token=(?:3D)?([A-Za-z0-9_-]{16,})/.exec(raw)?.[1];
    if (!token) return 'no-token-in-mail';
    const to = /^To: (?:.*<)?([^>\s]+)>?\s*$/m.exec(raw)?.[1];
    if (to) this.tokenRecipients.set(token, to.toLowerCase());
    return token;
  }

  private deref(value: unknown): unknown {
    if (value instanceof Ref) return this.lookup(value);
    if (Array.isArray(value)) return value.map((v) => this.deref(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value))
        Object.defineProperty(out, k, { value: this.deref(v), enumerable: true, configurable: true, writable: true });
      return out;
    }
    return value;
  }

  private authorization(auth: AuthSpec, secret: string): string[] {
    switch (auth.kind) {
      case 'none':
        return [];
      case 'raw':
        return [auth.value];
      case 'live': {
        const token = this[auth.who].accessToken;
        switch (auth.variant) {
          case 'plain':
            return [`Bearer ${token}`];
          case 'lowercase-scheme':
            return [`bearer ${token}`];
          case 'extra-space':
            return [`Bearer  ${token}`];
          case 'trailing-junk':
            return [`Bearer ${token} x`];
          case 'twice':
            return [`Bearer ${token}`, `Bearer ${token}`];
        }
        return [];
      }
      case 'forged': {
        const header = withChanges({ alg: 'HS256', typ: 'at+jwt' }, auth.header);
        const claims = withChanges(claimsOf(this[auth.who].accessToken), auth.claims);
        const body = `${b64(header)}.${b64(claims)}`;
        const algorithm = header.alg === 'HS512' ? 'sha512' : 'sha256';
        const signature = header.alg === 'none' ? '' : createHmac(algorithm, secret).update(body).digest('base64url');
        return [`Bearer ${body}.${signature}`];
      }
    }
  }

  private encodeBody(body: BodySpec): Buffer {
    switch (body.kind) {
      case 'json':
        return Buffer.from(JSON.stringify(this.deref(body.value)) ?? '', 'utf8');
      case 'form': {
        const value = this.deref(body.value);
        const pairs: string[] = [];
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
          for (const [k, v] of Object.entries(value)) formPairs(k, v, pairs);
        } else formPairs('value', value, pairs);
        return Buffer.from(pairs.join('&'), 'latin1');
      }
      case 'raw':
        return Buffer.from(body.text, body.latin1 ? 'latin1' : 'utf8');
    }
  }

  /** The bytes this symbolic request stands for, given the accounts as they are now. */
  resolve(spec: RequestSpec, secret: string): ResolvedRequest {
    const segments = spec.segments.map((s) => (s instanceof Ref ? percentEncode(this.lookup(s)) : s));
    const headers: [string, string][] = [];
    for (const value of this.authorization(spec.auth, secret)) headers.push(['authorization', value]);
    if (spec.contentType !== null) headers.push(['content-type', spec.contentType]);
    headers.push(...spec.headers);
    const sentStrings: string[] = [...segments, spec.query];
    const passwords: string[] = [];
    if (spec.body?.kind === 'json' || spec.body?.kind === 'form') {
      collectStrings(this.deref(spec.body.value), '', sentStrings, passwords);
    } else if (spec.body?.kind === 'raw') sentStrings.push(spec.body.text);
    return {
      wire: {
        method: spec.method,
        target: `${spec.origin}/${segments.join('/')}${spec.query}`,
        headers,
        body: spec.body ? this.encodeBody(spec.body) : undefined,
      },
      passwords,
      sentStrings,
    };
  }

  /** Follows what a request did to the accounts, and signs back in where it ended a session. */
  async observe(spec: RequestSpec, request: ResolvedRequest, response: WireResponse): Promise<void> {
    const ok = response.status >= 200 && response.status < 300;
    const operation = spec.operation;
    let body: any;
    try {
      body = JSON.parse(response.text);
    } catch {
      body = undefined;
    }
    const auth = spec.auth;
    const actor = auth.kind === 'live' ? auth.who : undefined;
    // A forged token whose odd claim is harmless (a padding claim, an nbf in the past) still acts as its user.
    const owner = auth.kind === 'live' || auth.kind === 'forged' ? auth.who : undefined;
    if (ok && operation.endsWith('/auth/refresh') && body?.refreshToken && body?.user?.id === this.target.id) {
      this.target.refreshToken = body.refreshToken;
    }
    if (ok && operation.endsWith('/auth/token') && body?.refresh_token) {
      // A password grant for the target, or a refresh of its token: either way the newest one.
      if (claimsOf(body.access_token).sub === this.target.id) this.target.refreshToken = body.refresh_token;
    }
    if (ok && operation === 'POST /api/v1/auth/password/change' && owner) {
      const sent = sentJson(request) as { newPassword?: unknown };
      if (typeof sent.newPassword === 'string') this[owner].password = sent.newPassword;
    }
    if (ok && operation === 'POST /api/v1/auth/password/reset') {
      const sent = sentJson(request) as { token?: unknown; password?: unknown };
      const to = typeof sent.token === 'string' ? this.tokenRecipients.get(sent.token) : undefined;
      for (const who of ['target', 'admin'] as const) {
        if (to === this[who].email.toLowerCase() && typeof sent.password === 'string') {
          this[who].password = sent.password;
          this.stale.add(who);
        }
      }
    }
    if (actor && response.status === 401) this.stale.add(actor);
    if (ok && /\/(logout|logout-all|password\/change|disable)$|^DELETE .*\/sessions\//.test(operation)) {
      this.stale.add('target');
      this.stale.add('admin');
    }
    await this.repair();
  }

  private async repair(): Promise<void> {
    for (const who of [...this.stale]) {
      this.stale.delete(who);
      const account = this[who];
      // Undo an admin's disable straight in the database, then sign in again.
      await query(this.t.databaseUrl, `UPDATE users SET status = 'active' WHERE id = $1`, [account.id]);
      try {
        this[who] = await this.signIn(account);
        this.repairs++;
      } catch (error) {
        // Fuzzing goes on with the dead token (still a fine input); the next 401 tries again.
        this.failedRepairs++;
        this.lastRepairError = `${who}: ${(error as Error).message}`;
      }
    }
  }

  get adminId(): string {
    return this.admin.id;
  }
}
