// Child processes of the bench: the built Latch server (with the counting probe preloaded) and the
// HTTP baselines (bare Fastify, minimal NestJS). All are separate processes from the load
// generator, reached over loopback.
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/database/embedded-postgres';
import type { ProbeRequest, ProbeSnapshot } from './probe';

export const ROOT = join(__dirname, '..', '..', '..');

/** Resident set size and its peak (VmHWM) of a process, in MB, from /proc/<pid>/status. */
export function readRss(pid: number): { rssMb: number; peakMb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return { rssMb: 0, peakMb: 0 };
  }
}

/** A child process whose last output lines are kept for the report when something goes wrong. */
export class Child {
  private readonly tail: string[] = [];
  private exited: Promise<number | null>;
  exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        this.tail.push(line);
        if (this.tail.length > 60) this.tail.shift();
      }
    };
    process.stdout?.on('data', keep);
    process.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      process.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : 0);
        resolve(this.exitCode);
      }),
    );
  }

  get pid(): number {
    return this.process.pid ?? 0;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  output(): string {
    return this.tail.join('\n');
  }

  /** SIGTERM, then SIGKILL if it has not exited within the deadline. */
  async stop(deadlineMs = 12_000): Promise<number | null> {
    if (!this.alive) return this.exitCode ?? null;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), deadlineMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.alive) this.process.kill('SIGKILL');
  }
}

/** Waits until the process answers HTTP on the URL (any status counts: the server is up). */
async function waitForHttp(child: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.alive) throw new Error(`${child.name} exited with ${child.exitCode} while starting:\n${child.output()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await sleep(150);
    }
  }
  child.kill();
  throw new Error(`${child.name} did not answer on ${url} within ${timeoutMs} ms:\n${child.output()}`);
}

/**
 * The Node flags Latch ships with: those of `npm start` (package.json), which the image's
 * NODE_OPTIONS and deploy/configmap.yaml repeat (test/ops/heap-budget.spec.ts keeps them equal).
 */
export function shippedNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const match = /^node((?: --[^\s]+)*) dist\/main\.js$/.exec(pkg.scripts.start);
  if (!match) throw new Error(`package.json "start" is not "node [flags] dist/main.js": ${pkg.scripts.start}`);
  return match[1].split(' ').filter((flag) => flag !== '');
}

/**
 * The environment the image sets for memory besides NODE_OPTIONS (the Dockerfile's runtime
 * MALLOC_* settings for glibc, which deploy/configmap.yaml repeats), so the bench measures what
 * ships.
 */
export function shippedEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
  return Object.fromEntries(
    [...runtime.matchAll(/^\s+(MALLOC_[A-Z_]+)=(\d+)/gm)].map(([, name, value]) => [name, value]),
  );
}

export interface LatchStartOptions {
  env: Record<string, string>;
  /** Node flags before dist/main.js: the shipped ones unless the run overrides them. */
  nodeFlags: string[];
}

/** The built service (`dist/main.js`), production mode, in its own process. */
export class LatchServer extends Child {
  private pending: ((answer: unknown) => void)[] = [];

  constructor(
    process: ChildProcess,
    readonly baseUrl: string,
  ) {
    super('latch', process);
    process.on('message', (message) => {
      const waiter = this.pending.shift();
      waiter?.(message);
    });
  }

  static async start(options: LatchStartOptions): Promise<LatchServer> {
    const port = await freePort();
    const args = ['-r', join(__dirname, 'probe.js'), ...options.nodeFlags, join(ROOT, 'dist', 'main.js')];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...options.env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const server = new LatchServer(child, `http://127.0.0.1:${port}`);
    await waitForHttp(server, `${server.baseUrl}/health/liveness`, 90_000);
    return server;
  }

  /** One IPC round trip to the probe (probe.ts) inside the server process. */
  private ask<T>(request: ProbeRequest, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the Latch probe did not answer ${request.type}`)), timeoutMs);
      this.pending.push((answer) => {
        clearTimeout(timer);
        resolve(answer as T);
      });
      this.process.send(request);
    });
  }

  /** The probe's counters; `sampleAllocation` starts its heap-allocation sample (probe.ts). */
  snapshot(sampleAllocation = false): Promise<ProbeSnapshot> {
    return this.ask<ProbeSnapshot>({ type: 'snapshot', sampleAllocation });
  }

  /** Forces a full garbage collection, then answers a snapshot. */
  collectGarbage(): Promise<ProbeSnapshot> {
    return this.ask<ProbeSnapshot>({ type: 'gc' }, 30_000);
  }

  async startProfile(): Promise<void> {
    await this.ask({ type: 'profile-start' });
  }

  async stopProfile(file: string): Promise<void> {
    await this.ask({ type: 'profile-stop', file }, 30_000);
  }
}

/** An HTTP baseline (bare-fastify.ts, minimal-nest.ts) in its own process, answering GET /me. */
async function startBaseline(name: string, script: string): Promise<{ child: Child; baseUrl: string }> {
  const port = await freePort();
  const child = new Child(
    name,
    spawn(process.execPath, [join(__dirname, script)], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(child, `${baseUrl}/me`, 30_000);
  return { child, baseUrl };
}

/** The bare Fastify baseline (bare-fastify.ts). */
export function startBareFastify(): Promise<{ child: Child; baseUrl: string }> {
  return startBaseline('bare-fastify', 'bare-fastify.js');
}

/** The minimal NestJS baseline on the Fastify adapter (minimal-nest.ts). */
export function startMinimalNest(): Promise<{ child: Child; baseUrl: string }> {
  return startBaseline('minimal-nest', 'minimal-nest.js');
}
