import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsStorableText } from '../../../common/validators/storable-text';

/** RFC 7009 §2.1 / RFC 7662 §2.1 form parameters. */
export class TokenRequestDto {
  @ApiProperty({ description: 'An access token, a refresh token, or (introspection) an API key' })
  @IsString()
  @IsStorableText()
  @IsNotEmpty()
  @MaxLength(8192)
  token: string;

  @ApiPropertyOptional({
    enum: ['access_token', 'refresh_token', 'api_key'],
    description: 'Where to look first (a hint only)',
  })
  @IsOptional()
  @IsString()
  @IsIn(['access_token', 'refresh_token', 'api_key'])
  token_type_hint?: string;

  @ApiPropertyOptional({ description: 'Ignored: Latch has public clients only' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  client_id?: string;

  @ApiPropertyOptional({ description: 'Ignored' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  client_secret?: string;
}

export class IntrospectionResponse {
  @ApiProperty()
  active: boolean;

  @ApiPropertyOptional({ enum: ['access_token', 'refresh_token', 'api_key'] })
  token_type?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'the user id' })
  sub?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'the session id' })
  sid?: string;

  @ApiPropertyOptional({ description: 'expiry, seconds since the epoch' })
  exp?: number;

  @ApiPropertyOptional({ description: 'issued at, seconds since the epoch' })
  iat?: number;

  @ApiPropertyOptional()
  iss?: string;

  @ApiPropertyOptional()
  aud?: string;

  @ApiPropertyOptional({ type: [String] })
  roles?: string[];

  @ApiPropertyOptional({ format: 'uuid', description: 'the API key id (token_type api_key)' })
  api_key_id?: string;

  @ApiPropertyOptional({ type: [String], description: "the API key's scopes (token_type api_key)" })
  scopes?: string[];
}
