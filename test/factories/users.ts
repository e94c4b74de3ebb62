// Test data: accounts created through the API, as a client would.
import { randomBytes } from 'node:crypto';
import type { Http } from '../utils/http';

export const GOOD_PASSWORD = 'Latch-test passphrase 4 you';

export interface TestUser {
  id: string;
  email: string;
  password: string;
}

export interface LoggedIn extends TestUser {
  accessToken: string;
  refreshToken: string;
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}@example.com`;
}

export async function registerUser(
  api: Http,
  overrides: Partial<{ email: string; password: string; username: string; displayName: string }> = {},
): Promise<TestUser> {
  const email = overrides.email ?? uniqueEmail();
  const password = overrides.password ?? GOOD_PASSWORD;
  const response = await api.post('/auth/register', { ...overrides, email, password });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${response.text}`);
  return { id: response.body.id, email, password };
}

export async function login(api: Http, user: TestUser, headers?: Record<string, string>): Promise<LoggedIn> {
  const response = await api.post('/auth/login', { email: user.email, password: user.password }, { headers });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${response.text}`);
  return { ...user, accessToken: response.body.accessToken, refreshToken: response.body.refreshToken };
}

export async function registerAndLogin(
  api: Http,
  overrides: Parameters<typeof registerUser>[1] = {},
): Promise<LoggedIn> {
  return login(api, await registerUser(api, overrides));
}
