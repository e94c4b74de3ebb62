// Where a process's resident memory is, from /proc/<pid>/smaps, for `npm run bench -- --memory`.
// The kinds follow how the server's memory is laid out on Linux with glibc: file-backed pages (the
// `node` binary and its libraries), V8's heap (its pages are anonymous mappings of 256 KB, so
// anonymous mappings under 1 MB are counted as V8's), glibc's main malloc heap (`[heap]`, grown
// with brk: Node's and its libraries' native allocations, mostly the main thread's), and the
// other anonymous mappings (glibc's other arena, allocations above its mmap threshold, V8's code
// space, thread stacks).
import { readFileSync } from 'node:fs';

export interface MemoryMap {
  fileMb: number;
  v8PagesMb: number;
  mallocHeapMb: number;
  otherAnonymousMb: number;
}

const V8_PAGE_LIMIT_KB = 1024;

export function readMemoryMap(pid: number): MemoryMap | undefined {
  let smaps: string;
  try {
    smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = { file: 0, v8: 0, heap: 0, other: 0 };
  let kind: keyof typeof kb = 'other';
  for (const line of smaps.split('\n')) {
    // A mapping's header: "start-end perms offset dev inode [path]".
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const sizeKb = (parseInt(header[2], 16) - parseInt(header[1], 16)) / 1024;
      const path = header[3];
      if (path.startsWith('/')) kind = 'file';
      else if (path === '[heap]') kind = 'heap';
      else if (path === '' && sizeKb < V8_PAGE_LIMIT_KB) kind = 'v8';
      else kind = 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kb[kind] += Number(rss[1]);
  }
  return {
    fileMb: kb.file / 1024,
    v8PagesMb: kb.v8 / 1024,
    mallocHeapMb: kb.heap / 1024,
    otherAnonymousMb: kb.other / 1024,
  };
}

export function describeMemoryMap(map: MemoryMap): string {
  const mb = (value: number): string => value.toFixed(1);
  return (
    `files ${mb(map.fileMb)}, V8 pages ${mb(map.v8PagesMb)}, malloc heap ${mb(map.mallocHeapMb)}, ` +
    `other anonymous ${mb(map.otherAnonymousMb)} MB`
  );
}
