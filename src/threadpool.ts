// Sizes libuv's thread pool before anything uses it (it is fixed at first use). bcrypt hashes run
// on it, and so do compression, DNS and file I/O: leave two threads beyond the bcrypt concurrency.
// An explicit UV_THREADPOOL_SIZE wins.
import { availableParallelism } from 'node:os';

if (!process.env.UV_THREADPOOL_SIZE) {
  const bcrypt = Number(process.env.BCRYPT_CONCURRENCY) || availableParallelism();
  process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, bcrypt + 2)));
}
