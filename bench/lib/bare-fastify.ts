// Baseline: a bare Fastify server (the HTTP layer under Latch's Nest adapter) answering a small
// JSON body of the same shape and size as GET /users/me, with no auth, validation or database.
// What /users/me achieves relative to this is the cost of everything Latch adds on top.
import Fastify from 'fastify';
import { USER } from './user-json';

const app = Fastify({ logger: false });
app.get('/me', async () => USER);
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
