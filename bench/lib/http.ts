// Plain HTTP calls to the server for seeding and draining (the measured load goes through load.ts).

export const API = '/api/v1';
export const PASSWORD = 'Bench-only passphrase 7f3k!';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

export async function request(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

export function log(line: string): void {
  console.log(line);
}
