// A stand-in for Latch's token endpoints, answering through an injected fetch: rotating refresh
// tokens, access tokens that expire on the (mocked) clock, and scripted failures of the refresh.

export type RefreshFault = 'unavailable' | 'network' | 'dead';

const USER = {
  id: '00000000-0000-4000-8000-000000000001',
  email: 'ada@example.com',
  username: null,
  displayName: null,
  roles: ['user'],
  status: 'active',
  emailVerified: true,
  createdAt: '2026-01-01T00:00:00.000Z',
  lastLoginAt: null,
};

export class FakeLatch {
  readonly baseUrl = 'https://latch.test';
  accessTtlSeconds = 60;
  refreshCalls = 0;
  /** Requests to anything but the auth endpoints, with the bearer token they carried. */
  readonly apiCalls: { path: string; token: string | null }[] = [];
  logouts = 0;
  /** The next refreshes fail this way, one entry each. */
  readonly faults: RefreshFault[] = [];
  /** While set, refresh answers wait for it (so concurrent callers pile up). */
  gate: Promise<void> | undefined;
  /** Answer the login with an MFA challenge instead of tokens. */
  mfa = false;

  private serial = 0;
  private refreshToken: string | null = null;
  private readonly access = new Map<string, number>(); // token -> expiry (ms)

  readonly fetch = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (path === '/api/v1/auth/login') {
      if (this.mfa) return json(200, { mfaRequired: true, mfaToken: 'mfa-1', expiresIn: 300, methods: ['totp'] });
      return json(200, this.issue());
    }
    if (path === '/api/v1/auth/mfa/verify') {
      const body = (await request.json()) as { mfaToken: string; code: string };
      return body.code === '123456' ? json(200, this.issue()) : problem(401, 'INVALID_MFA_CODE');
    }
    if (path === '/api/v1/auth/refresh') return this.refresh(request);
    const token = request.headers.get('authorization')?.replace(/^Bearer /, '') ?? null;
    if (!token || !((this.access.get(token) ?? 0) > Date.now())) {
      return problem(
        401,
        'UNAUTHORIZED',
        token ? 'Bearer realm="latch", error="invalid_token"' : 'Bearer realm="latch"',
      );
    }
    if (path === '/api/v1/auth/logout') {
      this.logouts++;
      this.revokeAll();
      return new Response(null, { status: 204 });
    }
    this.apiCalls.push({ path, token });
    return json(200, { ok: true, path });
  };

  /** Ends the session on the server (logout elsewhere): every token stops working. */
  revokeAll(): void {
    this.refreshToken = null;
    this.access.clear();
  }

  /** Makes a live access token fail before the client expects it to (e.g. a key rotation). */
  revokeAccess(): void {
    this.access.clear();
  }

  private async refresh(request: Request): Promise<Response> {
    this.refreshCalls++;
    const { refreshToken } = (await request.json()) as { refreshToken: string };
    if (this.gate) await this.gate;
    const fault = this.faults.shift();
    if (fault === 'network') throw new TypeError('fetch failed');
    if (fault === 'unavailable') return problem(503, 'SERVICE_UNAVAILABLE');
    if (fault === 'dead' || refreshToken !== this.refreshToken) return problem(401, 'INVALID_REFRESH_TOKEN');
    return json(200, this.issue());
  }

  private issue() {
    this.serial++;
    const accessToken = `access-${this.serial}`;
    this.refreshToken = `refresh-${this.serial}`;
    this.access.set(accessToken, Date.now() + this.accessTtlSeconds * 1000);
    return {
      accessToken,
      refreshToken: this.refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.accessTtlSeconds,
      refreshExpiresIn: 86_400,
      user: USER,
    };
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function problem(status: number, code: string, wwwAuthenticate?: string): Response {
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (wwwAuthenticate) headers['www-authenticate'] = wwwAuthenticate;
  return new Response(JSON.stringify({ status, code, title: code, detail: code }), { status, headers });
}
