// A TCP proxy the tests put between the app and PostgreSQL or Redis, to cut a dependency the way a
// network failure does (the machine's services are never stopped). cut() drops every open
// connection and then accepts new ones without ever answering (a black hole: the client must rely
// on its own timeouts); freeze() is the nastier half-open failure: open connections stay up but
// nothing passes any more. restore() resets what was cut or frozen and forwards again.
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly open = new Set<Socket>();
  private held = new Set<Socket>();
  private cutOff = false;
  private frozen = false;
  private freezeMarker: Buffer | undefined;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  /** Starts a proxy on a free loopback port in front of `targetUrl`'s host and port. */
  static async start(targetUrl: string): Promise<TcpProxy> {
    const url = new URL(targetUrl);
    const target = { host: url.hostname, port: Number(url.port) };
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new TcpProxy(server, target);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  cut(): void {
    this.cutOff = true;
    for (const socket of this.open) socket.destroy();
    this.open.clear();
  }

  freeze(): void {
    this.frozen = true;
    this.cutOff = true;
  }

  /**
   * freeze() at a chosen moment: as soon as a client sends a chunk containing `marker` (e.g.
   * 'COMMIT', to hang a transaction at its end); that chunk is swallowed too. restore() disarms it.
   */
  freezeOn(marker: string): void {
    this.freezeMarker = Buffer.from(marker);
  }

  restore(): void {
    this.freezeMarker = undefined;
    if (this.frozen) {
      for (const socket of this.open) socket.destroy();
      this.open.clear();
    }
    this.frozen = false;
    this.cutOff = false;
    // Connections opened into the black hole would be reset by the real peer; so are these.
    for (const socket of this.held) socket.destroy();
    this.held = new Set();
  }

  async close(): Promise<void> {
    this.cut();
    this.restore();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.cutOff) {
      this.held.add(client);
      client.on('close', () => this.held.delete(client));
      return;
    }
    const upstream = createConnection(this.target);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    this.open.add(client);
    this.open.add(upstream);
    client.on('close', () => this.open.delete(client));
    upstream.on('close', () => this.open.delete(upstream));
    // Forwarding by hand (not pipe) so that freeze() can swallow traffic like a dead link.
    client.on('data', (chunk: Buffer) => {
      if (this.freezeMarker && chunk.includes(this.freezeMarker)) this.freeze();
      if (!this.frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!this.frozen) client.write(chunk);
    });
  }
}
