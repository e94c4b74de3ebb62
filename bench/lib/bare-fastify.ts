// Baseline: a bare Fastify server (the HTTP layer under Latch's Nest adapter) answering a small
// JSON body of the same shape and size as GET /users/me, with no auth, validation or database.
// What /users/me achieves relative to this is the cost of everything Latch adds on top.
import Fastify from 'fastify';

const USER = {
  id: '0b6f1c1e-6f7a-4a59-9a55-2f1f8f0c9d11',
  email: 'bench-user@bench.example.com',
  username: null,
  displayName: null,
  roles: ['user'],
  status: 'active',
  emailVerified: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  lastLoginAt: '2026-01-01T00:00:00.000Z',
};

const app = Fastify({ logger: false });
app.get('/me', async () => USER);
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
