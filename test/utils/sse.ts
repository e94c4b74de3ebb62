// A minimal Server-Sent Events client for e2e tests: opens the stream with fetch and hands out the
// JSON `data:` payloads one by one, each wait bounded.
export interface SseClient<T> {
  status: number;
  contentType: string;
  /** The next event matching `predicate`, or a rejection after `timeoutMs`. */
  next(predicate?: (event: T) => boolean, timeoutMs?: number): Promise<T>;
  close(): void;
}

export async function openSse<T = any>(url: string, token?: string): Promise<SseClient<T>> {
  const abort = new AbortController();
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { headers, signal: AbortSignal.any([abort.signal, AbortSignal.timeout(30_000)]) });
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;

  if (response.ok && response.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).trimStart())
              .join('\n');
            if (data) queue.push(JSON.parse(data) as T);
            wake?.();
          }
        }
      } catch {
        // aborted by close()
      } finally {
        ended = true;
        wake?.();
      }
    })();
  } else {
    await response.text().catch(() => undefined);
  }

  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    async next(predicate = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = queue.findIndex(predicate);
        if (index >= 0) return queue.splice(index, 1)[0];
        if (ended) throw new Error('the event stream ended');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    close() {
      abort.abort();
    },
  };
}
