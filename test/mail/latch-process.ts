// Latch as a process of its own (src/main.js), for tests that need what only a real process has:
// being killed outright (SIGKILL), or main.ts's shutdown on SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_JWT_SECRET } from '../utils/create-test-app';
import { eventually } from '../utils/eventually';
import { Http } from '../utils/http';
import { freePort } from './smtp-sink';

export interface LatchProcess {
  /** Base URL of the API, e.g. http://127.0.0.1:41234/api/v1 */
  api: Http;
  /** What the process has written to stdout so far. */
  readonly output: string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
  /** Kills the process (SIGKILL) if it still runs, and removes its DATA_DIR. */
  close(): Promise<void>;
}

/**
 * Starts src/main.js on a free loopback port with a DATA_DIR of its own, the test settings
 * (fast bcrypt, the test JWT secret, no rate limits, no Redis, LOG_LEVEL fatal) and `env` on top
 * (DATABASE_URL at least); returns once it answers /health/liveness.
 */
export async function startLatchProcess(env: Record<string, string>): Promise<LatchProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'latch-process-'));
  const child = spawn(process.execPath, [join(__dirname, '../../src/main.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      BCRYPT_ROUNDS: '4',
      JWT_ACCESS_SECRET: TEST_JWT_SECRET,
      RATE_LIMIT_ENABLED: 'false',
      LOG_LEVEL: 'fatal',
      REDIS_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const instance: LatchProcess = {
    api: new Http(`http://127.0.0.1:${port}/api/v1`),
    get output() {
      return output;
    },
    exited,
    kill: (signal) => child.kill(signal),
    async close() {
      child.kill('SIGKILL');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await eventually(
      () =>
        new Http(`http://127.0.0.1:${port}`)
          .get('/health/liveness')
          .then((r) => r.status === 200)
          .catch(() => false),
      { what: 'the child instance to listen', timeoutMs: 30_000 },
    );
  } catch (error) {
    await instance.close();
    throw error;
  }
  return instance;
}
