import { ApiProperty } from '@nestjs/swagger';
import type { ApiKeyRow } from '../api-keys.repository';

/** An API key as lists show it: never the key itself. */
export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'CI deploys' })
  name: string;

  @ApiProperty({ example: 'latch_Xk3v9QpZ', description: 'the first characters of the key' })
  prefix: string;

  @ApiProperty({ type: [String], example: ['profile'] })
  scopes: string[];

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  expiresAt: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'stamped at most once a minute' })
  lastUsedAt: string | null;
}

/** The answer to creating a key: the only time the key itself is shown. */
export class CreatedApiKeyResponse extends ApiKeyResponse {
  @ApiProperty({ example: 'latch_Xk3v9QpZ…', description: 'the key; shown this once, keep it secret' })
  key: string;
}

export function toApiKeyResponse(key: ApiKeyRow): ApiKeyResponse {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt ? key.expiresAt.toISOString() : null,
    lastUsedAt: key.lastUsedAt ? key.lastUsedAt.toISOString() : null,
  };
}
