// A test instance whose PostgreSQL link runs through a TcpProxy, so that a test can cut or freeze
// the database the way a network failure does (the machine's PostgreSQL is never stopped).
import { after, before } from 'node:test';
import { createTestApp, TestApp, TestAppOptions } from './create-test-app';
import { createDatabase, dropDatabase } from './database';
import { TcpProxy } from './tcp-proxy';

const NEVER = '0 0 1 1 *'; // keeps the scheduled cleanup out of the way

export interface ProxiedInstance {
  proxy: TcpProxy;
  t: TestApp;
  /** Restores the link (so that the app can close cleanly), closes the app, then the proxy. */
  close(): Promise<void>;
}

/** Starts an instance on `databaseUrl` (which stays the caller's) through a proxy of its own. */
export async function startProxiedApp(
  databaseUrl: string,
  options: Omit<TestAppOptions, 'databaseUrl'> = {},
): Promise<ProxiedInstance> {
  const proxy = await TcpProxy.start(databaseUrl);
  try {
    const t = await createTestApp({ ...options, databaseUrl: proxy.urlFor(databaseUrl) });
    return {
      proxy,
      t,
      async close() {
        proxy.restore();
        await t.close();
        await proxy.close();
      },
    };
  } catch (error) {
    await proxy.close();
    throw error;
  }
}

export interface ProxiedApp {
  database: { name: string; url: string };
  proxy: TcpProxy;
  t: TestApp;
}

/**
 * For one describe block: a database of its own and an instance reaching it through a proxy, with
 * the scheduled token cleanup out of the way. The fields are set once the block's before() has run.
 */
export function behindProxy(env: Record<string, string> = {}): ProxiedApp {
  const state = {} as ProxiedApp;
  let instance: ProxiedInstance | undefined;
  before(async () => {
    state.database = await createDatabase();
    instance = await startProxiedApp(state.database.url, { env: { TOKEN_CLEANUP_CRON: NEVER, ...env } });
    state.proxy = instance.proxy;
    state.t = instance.t;
  });
  after(async () => {
    await instance?.close();
    if (state.database) await dropDatabase(state.database.name);
  });
  return state;
}
