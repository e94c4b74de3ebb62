// A real SMTP server for the mail e2e tests (smtp-server), recording every message it accepts, with
// a small MIME reader for the text and HTML parts Latch sends. It can be stopped and started again
// on the same port to play an SMTP outage.
import { createServer, type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { eventually } from '../utils/eventually';

/** How long a test waits for mail: the outbox is dispatched after the response, with retries. */
export const MAIL_TIMEOUT_MS = 20_000;

export interface ReceivedMail {
  to: string[];
  headers: Record<string, string>;
  template: string;
  subject: string;
  text: string;
  html: string;
  raw: string;
}

function decode(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '7bit').toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable': {
      const bytes = body
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    default:
      return body;
  }
}

function splitEntity(entity: string): { headers: Record<string, string>; body: string } {
  const index = entity.search(/\r?\n\r?\n/);
  const head = index === -1 ? entity : entity.slice(0, index);
  const body = index === -1 ? '' : entity.slice(index).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

export function parseMail(raw: string, to: string[]): ReceivedMail {
  const { headers, body } = splitEntity(raw);
  const parts: Record<string, string> = {};
  const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  const entities = boundary ? body.split(`--${boundary}`).slice(1, -1) : [raw];
  for (const entity of entities) {
    const part = boundary ? splitEntity(entity.replace(/^\r?\n/, '')) : { headers, body };
    const type = (part.headers['content-type'] ?? 'text/plain').split(';')[0].trim().toLowerCase();
    parts[type] = decode(part.body, part.headers['content-transfer-encoding']);
  }
  return {
    to,
    headers,
    template: headers['x-latch-template'] ?? '',
    subject: headers.subject ?? '',
    text: parts['text/plain'] ?? '',
    html: parts['text/html'] ?? '',
    raw,
  };
}

/** A loopback port that was free a moment ago, for a server that is "down" at first. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export class SmtpSink {
  readonly messages: ReceivedMail[] = [];
  /** Called with each message once it is recorded, before the server answers 250 (to act "right then"). */
  beforeAccept: ((mail: ReceivedMail) => void) | null = null;
  private server: SMTPServer | null = null;

  private constructor(
    readonly port: number,
    private readonly bounces: (address: string) => boolean,
  ) {}

  /**
   * Starts a sink on `port` (default: any free port); `start: false` only reserves the port number.
   * Recipients for which `bounce` is true are refused with a permanent 550.
   */
  static async create(
    options: { port?: number; start?: boolean; bounce?: (address: string) => boolean } = {},
  ): Promise<SmtpSink> {
    const sink = new SmtpSink(options.port ?? (await freePort()), options.bounce ?? (() => false));
    if (options.start !== false) await sink.start();
    return sink;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onRcptTo: (address, _session, callback) => {
        if (!this.bounces(address.address)) return callback();
        callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          const mail = parseMail(Buffer.concat(chunks).toString('utf8'), to);
          this.messages.push(mail);
          this.beforeAccept?.(mail);
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Messages accepted so far for the recipient (and template, when given). */
  to(address: string, template?: string): ReceivedMail[] {
    return this.messages.filter((m) => m.to.includes(address) && (template === undefined || m.template === template));
  }

  /** How many times each Message-ID was accepted, for the ones accepted more than once. */
  duplicates(): Map<string, number> {
    const seen = new Map<string, number>();
    for (const mail of this.messages) {
      const id = mail.headers['message-id'] ?? '';
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    return new Map([...seen].filter(([, count]) => count > 1));
  }

  /** The latest message for the recipient (and template), once one has arrived; fails after the deadline. */
  waitFor(address: string, template?: string, timeoutMs = MAIL_TIMEOUT_MS): Promise<ReceivedMail> {
    return eventually(() => this.to(address, template).at(-1), {
      what: template ? `a ${template} mail for ${address}` : `a mail for ${address}`,
      timeoutMs,
    });
  }
}

/** The token of a link such as APP_URL/reset-password?token=..., from a text or HTML part. */
export function linkToken(part: string, appUrl: string, path: string): string | null {
  const escaped = `${appUrl}/${path}?token=`.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`${escaped}([A-Za-z0-9_%-]+)`).exec(part)?.[1] ?? null;
}
