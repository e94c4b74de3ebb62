import type { UserEntity } from '../users/user.entity';

/** What the JWT guard attaches to an authenticated request. */
export interface AuthContext {
  userId: string;
  sessionId: string;
  roles: string[];
  tokenExpiresAt: Date;
  user: UserEntity;
}
