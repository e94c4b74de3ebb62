// Shared steps of the API key tests: create a key with a session, call with a key.
import { request as httpRequest } from 'node:http';
import type { Http, HttpResponse } from '../utils/http';

export interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  scopes: string[];
  expiresAt: string | null;
}

export async function createKey(
  api: Http,
  accessToken: string,
  body: { name?: string; scopes?: string[]; expiresInDays?: number } = {},
): Promise<CreatedKey> {
  const response = await api.post('/api-keys', { name: 'test key', ...body }, { token: accessToken });
  if (response.status !== 201) throw new Error(`creating a key failed: ${response.status} ${response.text}`);
  return response.body as CreatedKey;
}

export function withKey(key: string, headers: Record<string, string> = {}): { headers: Record<string, string> } {
  return { headers: { 'x-api-key': key, ...headers } };
}

/** A GET with raw header values (an array sends the header once per value), as fetch cannot. */
export function rawGet(
  url: string,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

export function problemCode(response: HttpResponse): string | undefined {
  return (response.body as { code?: string } | undefined)?.code;
}
