// OpenAPI helpers: the problem+json schema and the security schemes protected routes accept (Bearer
// and OAuth2 everywhere, the API key scheme on the routes that take an X-API-Key).
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiOAuth2, ApiProperty, ApiPropertyOptional, ApiResponse, ApiSecurity } from '@nestjs/swagger';
import { ErrorCode } from '../errors/app-error';

export const BEARER_SCHEME = 'bearer';
export const OAUTH2_SCHEME = 'oauth2';
export const API_KEY_SCHEME = 'apiKey';
/** The one header an API key travels in. */
export const API_KEY_HEADER = 'x-api-key';

class FieldErrorSchema {
  @ApiProperty({ example: 'password' })
  field: string;

  @ApiProperty({ example: 'must be at least 8 characters long' })
  message: string;
}

export class ProblemDetailsSchema {
  @ApiProperty({ example: 'urn:latch:problem:validation-failed' })
  type: string;

  @ApiProperty({ example: 'Validation failed' })
  title: string;

  @ApiProperty({ example: 400 })
  status: number;

  @ApiProperty({ example: 'The request body is invalid.' })
  detail: string;

  @ApiProperty({ enum: ErrorCode, example: ErrorCode.ValidationFailed })
  code: ErrorCode;

  @ApiPropertyOptional({ type: [FieldErrorSchema] })
  errors?: FieldErrorSchema[];
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'VALIDATION_FAILED or MALFORMED_REQUEST',
  401: 'Missing, invalid, expired or revoked credentials',
  403: 'Not allowed',
  404: 'NOT_FOUND',
  409: 'EMAIL_TAKEN or USERNAME_TAKEN',
  413: 'PAYLOAD_TOO_LARGE: body over 100 kB',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED, with Retry-After',
  503: 'SERVICE_UNAVAILABLE, with Retry-After',
};

/** Declares problem+json responses for the given statuses (503 is added to every operation). */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  const all = [...new Set([...statuses, 429, 503])];
  return applyDecorators(
    ...all.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetailsSchema' } } },
      }),
    ),
  );
}

/** Routes that need an access token: Swagger UI may send it from either Authorize option. */
export function ProtectedApi(): MethodDecorator & ClassDecorator {
  return applyDecorators(ApiBearerAuth(BEARER_SCHEME), ApiOAuth2([], OAUTH2_SCHEME));
}

/** Routes that also accept an API key (X-API-Key): Swagger UI's Authorize offers it there. */
export function ApiKeyApi(): MethodDecorator & ClassDecorator {
  return ApiSecurity(API_KEY_SCHEME);
}
