// Where the client SDK (clients/typescript) lives, and whether it has been built for these tests.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CLIENT_DIR = join(__dirname, '../../../clients/typescript');

const BUILD_HINT = 'the client SDK is not built: run `(cd clients/typescript && npm ci && npm run build)` first';

/**
 * False when the client's build is there; otherwise a skip reason. In CI (CI=true) a missing build is
 * a failure, not a skip, so the SDK's tests cannot silently stop running.
 */
export function sdkMissing(...files: string[]): false | string {
  const missing = files.filter((file) => !existsSync(join(CLIENT_DIR, file)));
  if (missing.length === 0) return false;
  if (process.env.CI === 'true') throw new Error(`${BUILD_HINT} (missing ${missing.join(', ')})`);
  return BUILD_HINT;
}

/** Imports an ES module of the client package (from these CommonJS tests). */
export function importClient<T = any>(file: string): Promise<T> {
  return import(pathToFileURL(join(CLIENT_DIR, file)).href) as Promise<T>;
}
