import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { KeyView } from '../signing-keys.service';

export class SigningKeyResponse {
  @ApiProperty({ example: 'Qm9vdHN0cmFwS2V5MDE' })
  kid: string;

  @ApiProperty({ enum: ['ES256', 'EdDSA', 'RS256'] })
  alg: string;

  @ApiProperty({ enum: ['next', 'active', 'retired', 'revoked'] })
  state: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', description: 'when it starts (or started) signing' })
  activatesAt: string;

  @ApiProperty({ format: 'date-time', nullable: true, description: 'when the next key took or takes over' })
  retiresAt: string | null;
}

export function toKeyResponses(keys: KeyView[]): SigningKeyResponse[] {
  return keys.map((key) => ({
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    createdAt: key.createdAt.toISOString(),
    activatesAt: key.activatesAt.toISOString(),
    retiresAt: key.retiresAt ? key.retiresAt.toISOString() : null,
  }));
}

export class PublicJwkResponse {
  @ApiProperty({ example: 'Qm9vdHN0cmFwS2V5MDE' })
  kid: string;

  @ApiProperty({ example: 'EC' })
  kty: string;

  @ApiProperty({ example: 'ES256' })
  alg: string;

  @ApiProperty({ example: 'sig' })
  use: string;

  @ApiPropertyOptional({ example: 'P-256' })
  crv?: string;

  @ApiPropertyOptional()
  x?: string;

  @ApiPropertyOptional()
  y?: string;

  @ApiPropertyOptional()
  n?: string;

  @ApiPropertyOptional()
  e?: string;
}

export class JwksResponse {
  @ApiProperty({ type: [PublicJwkResponse] })
  keys: PublicJwkResponse[];
}

/**
 * JwksResponse as a JSON Schema, for Fastify's compiled serialiser on the JWKS route (every
 * resource server fetches it). Members of a key beyond those named are sent too (as strings).
 */
export const JWKS_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kid', 'kty', 'alg', 'use'],
        additionalProperties: { type: 'string' },
        properties: Object.fromEntries(
          ['kid', 'kty', 'alg', 'use', 'crv', 'x', 'y', 'n', 'e'].map((name) => [name, { type: 'string' }]),
        ),
      },
    },
  },
} as const;

export class AuthorizationServerMetadataResponse {
  @ApiProperty({ example: 'https://auth.example.com' })
  issuer: string;

  @ApiProperty({ example: 'https://auth.example.com/api/v1/auth/token' })
  token_endpoint: string;

  @ApiProperty({ example: 'https://auth.example.com/.well-known/jwks.json' })
  jwks_uri: string;

  @ApiProperty({ example: 'https://auth.example.com/api/v1/auth/revoke' })
  revocation_endpoint: string;

  @ApiProperty({ example: 'https://auth.example.com/api/v1/auth/introspect' })
  introspection_endpoint: string;

  @ApiProperty({ type: [String], example: ['none'] })
  revocation_endpoint_auth_methods_supported: string[];

  @ApiProperty({ type: [String], example: ['bearer'] })
  introspection_endpoint_auth_methods_supported: string[];

  @ApiProperty({ type: [String], example: ['password', 'refresh_token'] })
  grant_types_supported: string[];

  @ApiProperty({ type: [String], example: ['none'] })
  token_endpoint_auth_methods_supported: string[];

  @ApiProperty({ type: [String], example: ['token'] })
  response_types_supported: string[];
}
