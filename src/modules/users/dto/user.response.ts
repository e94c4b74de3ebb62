import { derivedOnce } from '../../../common/shared-value';
import { ApiProperty } from '@nestjs/swagger';
import type { UserEntity, UserStatus } from '../user.entity';

export class UserResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'ada@example.com' })
  email: string;

  @ApiProperty({ type: String, nullable: true, example: 'ada' })
  username: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'Ada Lovelace' })
  displayName: string | null;

  @ApiProperty({ type: [String], example: ['user'] })
  roles: string[];

  @ApiProperty({ enum: ['active', 'pending_approval', 'disabled'] })
  status: UserStatus;

  @ApiProperty()
  emailVerified: boolean;

  @ApiProperty({ description: 'sign-in asks for a second factor' })
  mfaEnabled: boolean;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastLoginAt: string | null;
}

/**
 * A frozen user is the state cache's shared in-memory value (StateCache.peek), which never changes:
 * its answer is made once and shared by every request that reads it (GET /users/me, per token check).
 */
const answered = new WeakMap<Readonly<UserEntity>, Readonly<UserResponse>>();

export function toUserResponse(user: Readonly<UserEntity>): UserResponse {
  return derivedOnce(answered, user, userResponse);
}

function userResponse(user: Readonly<UserEntity>): UserResponse {
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    displayName: user.displayName,
    roles: user.roles,
    status: user.status,
    emailVerified: user.emailVerified,
    mfaEnabled: user.mfaEnabled === true,
    createdAt: user.createdAt.toISOString(),
    lastLoginAt: user.lastLoginAt ? user.lastLoginAt.toISOString() : null,
  };
}

/**
 * The same shape as a JSON Schema, for Fastify's response serialiser on hot routes (GET /users/me):
 * a compiled serialiser instead of JSON.stringify. Keep it in step with the class above.
 */
export const USER_RESPONSE_SCHEMA = {
  type: 'object',
  required: [
    'id',
    'email',
    'username',
    'displayName',
    'roles',
    'status',
    'emailVerified',
    'mfaEnabled',
    'createdAt',
    'lastLoginAt',
  ],
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    username: { type: ['string', 'null'] },
    displayName: { type: ['string', 'null'] },
    roles: { type: 'array', items: { type: 'string' } },
    status: { type: 'string' },
    emailVerified: { type: 'boolean' },
    mfaEnabled: { type: 'boolean' },
    createdAt: { type: 'string' },
    lastLoginAt: { type: ['string', 'null'] },
  },
} as const;
