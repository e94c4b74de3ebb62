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

/**
 * Both /auth/verify answers (VerifyResponse for a bearer token, ApiKeyVerifyResponse for a key) as
 * one JSON Schema, for Fastify's compiled response serialiser: a field absent from an answer is
 * left out, so each shape comes out exactly as the OpenAPI document describes it.
 */
export const VERIFY_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['valid', 'userId', 'roles', 'expiresAt'],
  properties: {
    valid: { type: 'boolean' },
    userId: { type: 'string' },
    sessionId: { type: 'string' },
    apiKeyId: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    scopes: { type: 'array', items: { type: 'string' } },
    expiresAt: { type: ['string', 'null'] },
  },
} as const;

/** /auth/verify for an API key (X-API-Key). */
export class ApiKeyVerifyResponse {
  @ApiProperty({ enum: [true] })
  valid: true;

  @ApiProperty({ format: 'uuid' })
  userId: string;

  @ApiProperty({ format: 'uuid' })
  apiKeyId: string;

  @ApiProperty({ type: [String] })
  roles: string[];

  @ApiProperty({ type: [String], description: "the key's scopes, including any Latch does not act on" })
  scopes: string[];

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when the key expires; null: never' })
  expiresAt: string | null;
}

/** /auth/verify for a bearer access token. */
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
