// Sizes libuv's thread pool before anything uses it (it is fixed at first use). bcrypt hashes run
// on it, and so do compression, DNS and file I/O: leave two threads beyond the bcrypt concurrency.
// An explicit UV_THREADPOOL_SIZE wins.
import { bcryptConcurrency } from './config/variables';

if (!process.env.UV_THREADPOOL_SIZE) {
  process.env.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, bcryptConcurrency() + 2)));
}
