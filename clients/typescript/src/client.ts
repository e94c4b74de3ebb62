// The session state machine: sign-in, one refresh at a time for every request of this client (and,
// with browser storage, for every tab of the browser), and the session's end when Latch says it is dead.
//
// Refreshing is where clients of rotating refresh tokens log people out by mistake: two requests (or
// two tabs) present the same refresh token, the second one is refused and the app treats that as the
// end of the session. Here a refresh is single flight per client; across tabs a Web Lock serialises
// them, a tab that waited compares the stored refresh token with the one it meant to present, and a
// token another tab has presented is never presented again: the tab waits for that tab's pair (tabs.ts).
import createClient, { type Client } from 'openapi-fetch';
import { problemError, RefreshUnavailableError } from './errors.js';
import type { components, paths } from './schema.js';
import { resolveStorage, type StorageOption } from './storage.js';
import { createTabs } from './tabs.js';

export type User = components['schemas']['UserResponse'];
export type RegisterBody = components['schemas']['RegisterDto'];
type TokenPair = components['schemas']['TokenPairResponse'];
export type ApiKey = components['schemas']['ApiKeyResponse'];
export type CreatedApiKey = components['schemas']['CreatedApiKeyResponse'];
export type CreateApiKeyBody = components['schemas']['CreateApiKeyDto'];

export interface Session {
  user: User;
  accessToken: string;
  /** When the access token expires, in milliseconds since the epoch (local clock). */
  expiresAt: number;
}

export type SessionChangeReason = 'signed-in' | 'refreshed' | 'logout' | 'invalid_refresh_token';

/** `session` is null when the session ended; `reason` says why it changed. */
export interface SessionChange {
  session: Session | null;
  reason: SessionChangeReason;
}

export type LoginResult = { user: User } | { mfaRequired: true; mfaToken: string };

export interface LatchClientOptions {
  /** Where Latch is served, e.g. `https://auth.example.com` (a trailing `/api/v1` is accepted too). */
  baseUrl: string;
  /** Where the session is kept: `"memory"` (default), `"local"`, `"session"` or a Web Storage-like object. */
  storage?: StorageOption;
  /** Refresh this many seconds before the access token expires (at most half its lifetime). Default 30. */
  refreshLeewaySeconds?: number;
  /** The fetch to use (default: the platform's). */
  fetch?: (input: Request) => Promise<Response>;
  /** Refresh in the background ahead of expiry, not only when a request needs it. Default true. */
  autoRefresh?: boolean;
  /** The storage key, also naming the Web Lock and the broadcast channel. Default `latch.session`. */
  storageKey?: string;
  /** Give up on a refresh that has not answered after this long. Default 10 000 ms. */
  refreshTimeoutMs?: number;
}

export interface LatchClient {
  login(credentials: { email: string; password: string }): Promise<LoginResult>;
  verifyMfa(mfaToken: string, code: string): Promise<{ user: User }>;
  register(body: RegisterBody): Promise<User>;
  logout(): Promise<void>;
  /** Refreshes now (shared with any refresh already under way); null when there is no session. */
  refresh(): Promise<Session | null>;
  getSession(): Session | null;
  onSessionChange(listener: (change: SessionChange) => void): () => void;
  /** The platform's fetch with the bearer token attached; relative URLs resolve against `baseUrl`. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Typed calls to Latch's own API (openapi-fetch), authenticated like `fetch`. */
  api: Client<paths>;
  /** The signed-in user's API keys; `create` answers the key itself, this once. */
  apiKeys: {
    create(body: CreateApiKeyBody): Promise<CreatedApiKey>;
    list(): Promise<ApiKey[]>;
    delete(id: string): Promise<void>;
  };
  /** Stops the background timer and the cross-tab listeners. */
  close(): void;
}

/** What is stored: the public session plus the refresh token and the access token's lifetime. */
interface StoredSession extends Session {
  refreshToken: string;
  lifetimeMs: number;
}

type Broadcast =
  | { type: 'rotated'; previous: string | null; session: StoredSession; reason: SessionChangeReason }
  | { type: 'ended'; refreshToken: string; reason: SessionChangeReason };

const API_PREFIX = '/api/v1';
const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

export function createLatchClient(options: LatchClientOptions): LatchClient {
  const base = options.baseUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  const storage = resolveStorage(options.storage);
  const key = options.storageKey ?? 'latch.session';
  const leewayMs = Math.max(0, options.refreshLeewaySeconds ?? 30) * 1000;
  const autoRefresh = options.autoRefresh ?? true;
  const refreshTimeoutMs = options.refreshTimeoutMs ?? 10_000;
  const platformFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  // Tabs share a session only through browser storage; memory and custom stores stay per client.
  const crossTab = options.storage === 'local' || options.storage === 'session';
  const tabs = createTabs(key, crossTab ? (globalThis.navigator as Navigator | undefined)?.locks : undefined);

  const listeners = new Set<(change: SessionChange) => void>();
  let known: string | null = read()?.refreshToken ?? null;
  let inflight: Promise<StoredSession | null> | null = null;
  let backoffMs = 0;
  let backoffUntil = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const raw = createClient<paths>({ baseUrl: base, fetch: platformFetch });
  const api = createClient<paths>({ baseUrl: base, fetch: (request) => authFetch(request) });

  const channel = crossTab && typeof BroadcastChannel === 'function' ? new BroadcastChannel(`latch:${key}`) : null;
  if (channel) channel.onmessage = (event: MessageEvent<Broadcast>) => receive(event.data);
  const onStorage = (event: StorageEvent) => {
    if (event.key !== key) return;
    sync(event.newValue ? 'refreshed' : 'logout');
    tabs.heard();
  };
  // Without BroadcastChannel, localStorage's own event still tells the other tabs.
  const useStorageEvent = !channel && options.storage === 'local' && typeof addEventListener === 'function';
  if (useStorageEvent) addEventListener('storage', onStorage);
  schedule();

  function read(): StoredSession | null {
    const text = storage.getItem(key);
    if (!text) return null;
    try {
      const parsed = JSON.parse(text) as StoredSession;
      return parsed && typeof parsed.refreshToken === 'string' && typeof parsed.accessToken === 'string'
        ? parsed
        : null;
    } catch {
      return null;
    }
  }

  function toPublic(session: StoredSession): Session {
    return { user: session.user, accessToken: session.accessToken, expiresAt: session.expiresAt };
  }

  /** Emits a change when the stored session is not the one this client last knew of. */
  function sync(reason: SessionChangeReason): void {
    const session = read();
    const token = session?.refreshToken ?? null;
    if (token === known) return;
    known = token;
    schedule();
    const change: SessionChange = { session: session ? toPublic(session) : null, reason };
    for (const listener of [...listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's failure is the app's; it must not break the client's bookkeeping.
      }
    }
  }

  function post(message: Broadcast): void {
    channel?.postMessage(message);
  }

  function receive(message: Broadcast): void {
    const mine = read();
    // With sessionStorage a duplicated tab holds its own copy of the same session: update it.
    if (message.type === 'rotated' && (mine?.refreshToken ?? null) === message.previous && mine !== null) {
      storage.setItem(key, JSON.stringify(message.session));
    } else if (message.type === 'ended' && mine?.refreshToken === message.refreshToken) {
      storage.removeItem(key);
    }
    sync(message.reason);
    tabs.heard();
  }

  function store(session: StoredSession, previous: string | null, reason: SessionChangeReason): void {
    storage.setItem(key, JSON.stringify(session));
    post({ type: 'rotated', previous, session, reason });
    sync(reason);
  }

  function end(refreshToken: string, reason: SessionChangeReason): void {
    if (read()?.refreshToken === refreshToken) storage.removeItem(key);
    post({ type: 'ended', refreshToken, reason });
    sync(reason);
  }

  function fromPair(pair: TokenPair): StoredSession {
    const lifetimeMs = pair.expiresIn * 1000;
    let expiresAt = Date.now() + lifetimeMs;
    const exp = expClaim(pair.accessToken);
    // The token's own exp is exact to the second; ignore it when the clocks clearly disagree.
    if (exp !== undefined && exp < expiresAt && exp > expiresAt - 2_000) expiresAt = exp;
    return { user: pair.user, accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresAt, lifetimeMs };
  }

  function refreshDueAt(session: StoredSession): number {
    return session.expiresAt - Math.min(leewayMs, session.lifetimeMs / 2);
  }

  function schedule(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const session = read();
    if (closed || !autoRefresh || !session) return;
    const at = Math.max(refreshDueAt(session), backoffUntil);
    timer = setTimeout(
      () => {
        timer = undefined;
        const current = read();
        if (current && Date.now() >= refreshDueAt(current)) refreshSession().catch(() => schedule());
        else schedule();
      },
      Math.max(0, at - Date.now()),
    );
    (timer as { unref?: () => void }).unref?.();
  }

  /** One refresh for everyone who asks while it runs. Resolves to null when there is no session. */
  function refreshSession(): Promise<StoredSession | null> {
    if (inflight) return inflight;
    const seen = read()?.refreshToken ?? null;
    inflight = tabs
      .exclusive(() => rotate(seen))
      .finally(() => {
        inflight = null;
      });
    return inflight;
  }

  async function rotate(seen: string | null): Promise<StoredSession | null> {
    // Presented by another tab, whose pair (or the session's end) has not reached this one yet: wait for it.
    if (seen !== null && read()?.refreshToken === seen && !(await tabs.claim(seen))) {
      await tabs.waitForNews(() => read()?.refreshToken !== seen, refreshTimeoutMs);
    }
    const current = read();
    if (!current) {
      sync('logout');
      return null;
    }
    // Another tab refreshed while this one waited for the lock: use its pair, do not present a spent token.
    if (current.refreshToken !== seen) {
      sync('refreshed');
      return current;
    }
    try {
      return await present(current);
    } catch (error) {
      tabs.unclaim(current.refreshToken);
      throw error;
    }
  }

  /** Presents the refresh token; resolves once Latch has answered for it (a pair, or its end). */
  async function present(current: StoredSession): Promise<StoredSession | null> {
    let response: Response;
    let pair: TokenPair | undefined;
    let problem: unknown;
    try {
      const result = await raw.POST('/api/v1/auth/refresh', {
        body: { refreshToken: current.refreshToken },
        signal: AbortSignal.timeout(refreshTimeoutMs),
      });
      response = result.response;
      pair = result.data;
      problem = result.error;
    } catch (cause) {
      throw unavailable(`refresh failed: ${(cause as Error)?.message ?? String(cause)}`, cause);
    }
    if (pair) {
      backoffMs = 0;
      backoffUntil = 0;
      const next = fromPair(pair);
      store(next, current.refreshToken, 'refreshed');
      return next;
    }
    const error = problemError(response, problem, 'refresh');
    if (response.status === 401) {
      // Storage shared without a lock (or another device of the same store) may have rotated it meanwhile.
      const after = read();
      if (after && after.refreshToken !== current.refreshToken) {
        sync('refreshed');
        return after;
      }
      end(current.refreshToken, 'invalid_refresh_token');
      return null;
    }
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      const retryAfter = Number(response.headers.get('retry-after'));
      throw unavailable(error.message, error, Number.isFinite(retryAfter) ? retryAfter * 1000 : 0);
    }
    throw error;
  }

  /** Backs off the background refresh; the session stays. */
  function unavailable(message: string, cause: unknown, atLeastMs = 0): RefreshUnavailableError {
    backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, backoffMs * 2, atLeastMs));
    backoffUntil = Date.now() + backoffMs;
    schedule();
    return new RefreshUnavailableError(message, { cause });
  }

  /** The session to send a request with, refreshed first when its access token is (nearly) spent. */
  async function sessionForRequest(): Promise<StoredSession | null> {
    const session = read();
    if (!session) return null;
    const now = Date.now();
    if (now < refreshDueAt(session)) return session;
    const stillValid = now < session.expiresAt;
    // Backing off after a failed refresh: a token that still works is used as it is.
    if (stillValid && now < backoffUntil) return session;
    try {
      return await refreshSession();
    } catch (error) {
      if (stillValid && error instanceof RefreshUnavailableError) return session;
      throw error;
    }
  }

  function resolve(input: RequestInfo | URL): RequestInfo | URL {
    if (typeof input !== 'string') return input;
    if (/^[a-z][a-z0-9+.-]*:/i.test(input)) return input;
    return `${base}${input.startsWith('/') ? '' : '/'}${input}`;
  }

  async function authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = new Request(resolve(input), init);
    const session = await sessionForRequest();
    if (!session) return platformFetch(request);
    const spare = request.clone(); // the body, once more, for the one retry
    request.headers.set('authorization', `Bearer ${session.accessToken}`);
    const response = await platformFetch(request);
    if (!(await isInvalidToken(response))) return response;
    const next = await refreshAfter401(session);
    if (!next) return response;
    spare.headers.set('authorization', `Bearer ${next.accessToken}`);
    return platformFetch(spare);
  }

  async function refreshAfter401(rejected: StoredSession): Promise<StoredSession | null> {
    // Refreshed meanwhile by a concurrent request (or tab): retry with that token, no second refresh.
    const current = read();
    if (current && current.accessToken !== rejected.accessToken && Date.now() < current.expiresAt) return current;
    return refreshSession();
  }

  async function isInvalidToken(response: Response): Promise<boolean> {
    if (response.status !== 401) return false;
    if (/error="?invalid_token/i.test(response.headers.get('www-authenticate') ?? '')) return true;
    if (!/json/.test(response.headers.get('content-type') ?? '')) return false;
    try {
      const problem = (await response.clone().json()) as { code?: string };
      return problem?.code === 'UNAUTHORIZED';
    } catch {
      return false;
    }
  }

  function signIn(pair: TokenPair): { user: User } {
    const session = fromPair(pair);
    backoffMs = 0;
    backoffUntil = 0;
    store(session, read()?.refreshToken ?? null, 'signed-in');
    return { user: session.user };
  }

  return {
    api,
    fetch: authFetch,

    apiKeys: {
      async create(body) {
        const { data, error, response } = await api.POST('/api/v1/api-keys', { body });
        if (!data) throw problemError(response, error, 'create API key');
        return data;
      },
      async list() {
        const { data, error, response } = await api.GET('/api/v1/api-keys');
        if (!data) throw problemError(response, error, 'list API keys');
        return data;
      },
      async delete(id) {
        const { error, response } = await api.DELETE('/api/v1/api-keys/{id}', { params: { path: { id } } });
        if (!response.ok) throw problemError(response, error, 'delete API key');
      },
    },

    async login(credentials) {
      const { data, error, response } = await raw.POST('/api/v1/auth/login', { body: credentials });
      if (!data) throw problemError(response, error, 'login');
      // The service answers a TokenPair, or a challenge when the account has a second factor.
      if ('mfaRequired' in data && data.mfaRequired === true) {
        return { mfaRequired: true, mfaToken: data.mfaToken };
      }
      return signIn(data as TokenPair);
    },

    async verifyMfa(mfaToken, code) {
      const { data, error, response } = await raw.POST('/api/v1/auth/mfa/verify', { body: { mfaToken, code } });
      if (!data) throw problemError(response, error, 'MFA verification');
      return signIn(data);
    },

    async register(body) {
      const { data, error, response } = await raw.POST('/api/v1/auth/register', { body });
      if (!data) throw problemError(response, error, 'register');
      return data;
    },

    async logout() {
      const session = read();
      if (!session) return;
      try {
        await authFetch(`${API_PREFIX}/auth/logout`, { method: 'POST' });
      } catch {
        // Signed out here whatever Latch answered: the tokens are forgotten below.
      } finally {
        const current = read();
        end(current?.refreshToken ?? session.refreshToken, 'logout');
      }
    },

    async refresh() {
      const next = await refreshSession();
      return next ? toPublic(next) : null;
    },

    getSession() {
      const session = read();
      return session ? toPublic(session) : null;
    },

    onSessionChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      tabs.close();
      channel?.close();
      if (useStorageEvent) removeEventListener('storage', onStorage);
    },
  };
}

/** The access token's `exp` in milliseconds, when it is a readable JWT. */
function expClaim(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const json = atob(
      payload
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(payload.length / 4) * 4, '='),
    );
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
