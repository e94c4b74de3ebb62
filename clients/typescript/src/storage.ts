// Where the session lives between page loads: memory (default), the browser's localStorage or
// sessionStorage, or anything with the three methods of the Web Storage interface.

/** The part of the Web Storage interface the client uses (synchronous, like localStorage). */
export interface StorageAdapter {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type StorageOption = 'memory' | 'local' | 'session' | StorageAdapter;

export function memoryStorage(): StorageAdapter {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

export function resolveStorage(option: StorageOption | undefined): StorageAdapter {
  if (option === undefined || option === 'memory') return memoryStorage();
  if (option === 'local' || option === 'session') {
    const name = option === 'local' ? 'localStorage' : 'sessionStorage';
    const store = (globalThis as unknown as Record<string, Storage | undefined>)[name];
    if (!store) throw new Error(`storage "${option}" needs ${name}, which this environment does not have`);
    return store;
  }
  return option;
}
