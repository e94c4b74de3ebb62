import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { IsStorableText } from '../../../common/validators/storable-text';
import { MAX_SCOPES, SCOPE_PATTERN } from '../api-key-format';

/** C0 and C1 control characters and DEL: a name is printable text. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f]*$/;
/** The longest expiry a key may be given, in days (ten years). */
export const MAX_EXPIRES_IN_DAYS = 3650;

export class CreateApiKeyDto {
  @ApiProperty({ example: 'CI deploys', description: '1-100 printable characters' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFC').trim() : value))
  @IsString()
  @IsStorableText()
  @Length(1, 100)
  @Matches(PRINTABLE, { message: 'name must not contain control characters' })
  name: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['profile', 'introspect'],
    description:
      'at most 20, each matching ^[a-z][a-z0-9:._-]{0,63}$. Latch acts on `profile` (GET /users/me), ' +
      '`introspect` (POST /auth/introspect) and `admin` (admin endpoints, while the owner is an admin); ' +
      'others are kept and returned by verify and introspect',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_SCOPES)
  @IsString({ each: true })
  @Matches(SCOPE_PATTERN, { each: true, message: 'each scope must match ^[a-z][a-z0-9:._-]{0,63}$' })
  scopes?: string[];

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_EXPIRES_IN_DAYS,
    description: 'days until the key expires; none: never',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_EXPIRES_IN_DAYS)
  expiresInDays?: number;
}
