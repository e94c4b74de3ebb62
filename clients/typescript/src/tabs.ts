// How the tabs sharing a session (browser storage) take turns at refreshing it, so that each refresh
// token is presented once. A Web Lock serialises the refreshes, but the tab granted the lock next may
// not see yet what the previous holder stored: the browser carries another tab's storage write and its
// BroadcastChannel message to this tab apart from the lock's grant, in no set order. The lock manager
// itself handles a tab's requests and releases in the order they were made, so it also records which
// tokens were presented: before presenting a refresh token a tab claims it (a lock named after its
// digest, taken while it holds the refresh lock) and holds the claim until its next refresh. A tab that
// then finds the token it meant to present claimed knows that the news of its replacement (or of the
// session's end) is on its way, and waits for that instead.

export interface Tabs {
  /** Runs `work` holding the refresh lock (at once where there is no Web Lock manager). */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Claims `token` before it is presented; false when another tab (or client) has presented it. */
  claim(token: string): Promise<boolean>;
  /** Gives the claim of `token` back: its presentation had no answer, the token may still be good. */
  unclaim(token: string): void;
  /** Resolves once `settled()` holds, checked at each `heard()`, or after `timeoutMs`. */
  waitForNews(settled: () => boolean, timeoutMs: number): Promise<void>;
  /** News from another tab arrived (a broadcast, a storage event). */
  heard(): void;
  close(): void;
}

export function createTabs(key: string, locks: LockManager | undefined): Tabs {
  let held: { token: string; release: () => void } | null = null;
  const checks = new Set<() => void>();

  function release(): void {
    held?.release();
    held = null;
  }

  return {
    exclusive<T>(work: () => Promise<T>): Promise<T> {
      return locks ? (locks.request(`latch-refresh:${key}`, work) as Promise<T>) : work();
    },

    async claim(token) {
      if (!locks) return true;
      const name = `latch-claim:${key}:${await digest(token)}`;
      return new Promise<boolean>((answer) => {
        locks
          .request(name, { ifAvailable: true }, (lock) => {
            answer(lock !== null);
            if (!lock) return;
            // The token claimed before was replaced a whole refresh ago: no tab can still be about to present it.
            release();
            return new Promise<void>((done) => (held = { token, release: done }));
          })
          // Without an answer from the lock manager, present the token as if no tab had.
          .catch(() => answer(true));
      });
    },

    unclaim(token) {
      if (held?.token === token) release();
    },

    waitForNews(settled, timeoutMs) {
      if (settled()) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          checks.delete(check);
          resolve();
        };
        const check = () => {
          if (settled()) finish();
        };
        const timer = setTimeout(finish, timeoutMs);
        checks.add(check);
      });
    },

    heard() {
      for (const check of [...checks]) check();
    },

    close: release,
  };
}

/** Names a claim without the token itself: lock names show in `locks.query()` and in developer tools. */
async function digest(token: string): Promise<string> {
  const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
  return btoa(String.fromCharCode(...new Uint8Array(hash, 0, 16)));
}
