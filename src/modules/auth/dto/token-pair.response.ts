import { ApiProperty } from '@nestjs/swagger';
import { UserResponse } from '../../users/dto/user.response';

export class TokenPairResponse {
  @ApiProperty({ description: 'JWT access token; send as Authorization: Bearer' })
  accessToken: string;

  @ApiProperty({ description: 'Opaque refresh token; single use, rotates on every refresh' })
  refreshToken: string;

  @ApiProperty({ enum: ['Bearer'] })
  tokenType: 'Bearer';

  @ApiProperty({ description: 'Seconds until the access token expires', example: 900 })
  expiresIn: number;

  @ApiProperty({ description: 'Seconds until the refresh session expires', example: 2592000 })
  refreshExpiresIn: number;

  @ApiProperty({ type: UserResponse })
  user: UserResponse;
}

export class SessionResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  lastUsedAt: string;

  @ApiProperty({ format: 'date-time' })
  expiresAt: string;

  @ApiProperty({ type: String, nullable: true })
  userAgent: string | null;

  @ApiProperty({ type: String, nullable: true })
  ip: string | null;

  @ApiProperty({ description: 'True for the session of the token making this request' })
  current: boolean;
}

/** VerifyResponse as a JSON Schema, for Fastify's compiled response serialiser on GET /auth/verify. */
export const VERIFY_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['valid', 'userId', 'sessionId', 'roles', 'expiresAt'],
  properties: {
    valid: { type: 'boolean' },
    userId: { type: 'string' },
    sessionId: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    expiresAt: { type: 'string' },
  },
} as const;

export class VerifyResponse {
  @ApiProperty({ enum: [true] })
  valid: true;

  @ApiProperty({ format: 'uuid' })
  userId: string;

  @ApiProperty({ format: 'uuid' })
  sessionId: string;

  @ApiProperty({ type: [String] })
  roles: string[];

  @ApiProperty({ format: 'date-time' })
  expiresAt: string;
}
