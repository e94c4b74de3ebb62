// The body the HTTP baselines answer: the same shape and size as GET /users/me.
export const USER = {
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
