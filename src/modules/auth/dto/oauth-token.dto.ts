import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** RFC 6749 token request (form-encoded); checked by hand so errors follow §5.2. */
export class OAuthTokenRequest {
  @ApiProperty({ enum: ['password', 'refresh_token'] })
  grant_type: string;

  @ApiPropertyOptional({ description: 'E-mail address or username (password grant)' })
  username?: string;

  @ApiPropertyOptional({ description: 'Password (password grant)' })
  password?: string;

  @ApiPropertyOptional({ description: 'Refresh token (refresh_token grant)' })
  refresh_token?: string;

  @ApiPropertyOptional({ description: 'Ignored: Latch is a public client' })
  client_id?: string;

  @ApiPropertyOptional({ description: 'Ignored' })
  scope?: string;
}

export class OAuthTokenResponse {
  @ApiProperty()
  access_token: string;

  @ApiProperty({ enum: ['Bearer'] })
  token_type: 'Bearer';

  @ApiProperty({ example: 900 })
  expires_in: number;

  @ApiProperty()
  refresh_token: string;
}

export class OAuthErrorResponse {
  @ApiProperty({
    enum: ['invalid_request', 'invalid_grant', 'unsupported_grant_type', 'invalid_client', 'temporarily_unavailable'],
  })
  error: string;

  @ApiProperty()
  error_description: string;
}
