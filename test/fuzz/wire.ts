// The fuzzer's HTTP client: a request written byte for byte on its own TCP connection (fetch and
// node:http refuse or normalise odd paths and header bytes), and a small response reader.
import { connect } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

export interface WireRequest {
  method: string;
  /** The request target as written on the request line (path and query). */
  target: string;
  /** In order, duplicates allowed; written as latin1 bytes. */
  headers: [string, string][];
  body?: Buffer;
}

export interface WireResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  text: string;
  /** The answer was a server-sent event stream, closed by us once its head arrived. */
  streamed: boolean;
}

export class NoAnswerError extends Error {}

const HEAD_END = Buffer.from('\r\n\r\n');

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function decode(body: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
      return gunzipSync(body);
    case 'deflate':
      return inflateSync(body);
    case 'br':
      return brotliDecompressSync(body);
    default:
      return body;
  }
}

function parseHead(head: string): { status: number; headers: Record<string, string> } {
  const [statusLine, ...lines] = head.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) throw new NoAnswerError(`not an HTTP answer: ${JSON.stringify(statusLine.slice(0, 200))}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(match[1]), headers };
}

function encodeRequest(request: WireRequest, host: string): Buffer {
  const lines = [`${request.method} ${request.target} HTTP/1.1`, `host: ${host}`, 'connection: close'];
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  if (request.body !== undefined) lines.push(`content-length: ${request.body.length}`);
  // The request line goes out as UTF-8 (a client may send raw non-ASCII), header values as latin1.
  const requestLine = Buffer.from(`${lines[0]}\r\n`, 'utf8');
  const rest = Buffer.from(`${lines.slice(1).join('\r\n')}\r\n\r\n`, 'latin1');
  return Buffer.concat([requestLine, rest, request.body ?? Buffer.alloc(0)]);
}

/** Sends one request on a fresh connection and reads the whole answer (the server closes after it). */
export function exchange(port: number, request: WireRequest, timeoutMs: number): Promise<WireResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error: Error | undefined, response?: WireResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(response!);
    };
    const timer = setTimeout(() => finish(new NoAnswerError(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const complete = (streamed: boolean) => {
      let raw = Buffer.concat(chunks);
      // Interim answers (100 Continue to an `Expect`) come before the real one.
      while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(0, 13).toString('latin1')) && raw.includes(HEAD_END)) {
        raw = raw.subarray(raw.indexOf(HEAD_END) + 4);
      }
      const headEnd = raw.indexOf(HEAD_END);
      if (headEnd < 0) {
        return finish(new NoAnswerError(`connection closed after ${raw.length} bytes, no complete head`));
      }
      try {
        const { status, headers } = parseHead(raw.subarray(0, headEnd).toString('latin1'));
        let body: Buffer = raw.subarray(headEnd + 4);
        if (streamed) body = Buffer.alloc(0);
        else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
        else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
        const text = decode(body, headers['content-encoding']).toString('utf8');
        finish(undefined, { status, headers, text, streamed });
      } catch (error) {
        finish(error as Error);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // An event stream never ends by itself: its head is the answer.
      const raw = Buffer.concat(chunks);
      const headEnd = raw.lastIndexOf(HEAD_END);
      if (headEnd >= 0 && /\r\ncontent-type:\s*text\/event-stream/i.test(raw.subarray(0, headEnd).toString('latin1'))) {
        complete(true);
      }
    });
    socket.on('end', () => complete(false));
    socket.on('close', () => complete(false));
    // The server may answer and close before it has read everything we sent (a 413, a 431).
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (chunks.length > 0) complete(false);
      else finish(new NoAnswerError(`connection failed: ${error.code ?? error.message}`));
    });
    socket.write(encodeRequest(request, `127.0.0.1:${port}`));
  });
}
