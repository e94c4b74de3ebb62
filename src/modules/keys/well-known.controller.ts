// Discovery for resource servers and OAuth clients, outside /api/v1 (as RFC 8414 and RFC 7517
// tooling expects): the JWKS and the authorization server metadata, both from memory.
import { Controller, Get, Header } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../../common/decorators/public.decorator';
import { ApiProblems } from '../../common/http/openapi';
import type { LatchConfig } from '../../config/configuration';
import { AuthorizationServerMetadataResponse, JWKS_RESPONSE_SCHEMA, JwksResponse } from './dto/keys.response';
import { SigningKeys } from './signing-keys.service';

/** The API prefix (bootstrap.ts API_PREFIX; not imported, which would make a cycle through AppModule). */
const API = '/api/v1';

@ApiTags('discovery')
@Public()
@Controller('.well-known')
export class WellKnownController {
  private readonly metadata: AuthorizationServerMetadataResponse;

  constructor(
    private readonly keys: SigningKeys,
    config: ConfigService<LatchConfig, true>,
  ) {
    const { appUrl } = config.get('app', { infer: true });
    const auth = config.get('auth', { infer: true });
    this.metadata = {
      issuer: auth.jwtIssuer,
      token_endpoint: `${appUrl}${API}/auth/token`,
      jwks_uri: `${appUrl}/.well-known/jwks.json`,
      revocation_endpoint: `${appUrl}${API}/auth/revoke`,
      introspection_endpoint: `${appUrl}${API}/auth/introspect`,
      revocation_endpoint_auth_methods_supported: ['none'],
      introspection_endpoint_auth_methods_supported: ['bearer'],
      grant_types_supported: ['password', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['none'],
      response_types_supported: ['token'],
    };
  }

  @Get('jwks.json')
  @RouteSchema({ response: { 200: JWKS_RESPONSE_SCHEMA } })
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ summary: 'Public keys that verify access tokens (empty with HS256)' })
  @ApiOkResponse({ type: JwksResponse })
  @ApiProblems()
  jwks(): JwksResponse {
    return this.keys.jwks();
  }

  @Get('oauth-authorization-server')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({ summary: 'RFC 8414 authorization server metadata' })
  @ApiOkResponse({ type: AuthorizationServerMetadataResponse })
  @ApiProblems()
  metadataDocument(): AuthorizationServerMetadataResponse {
    return this.metadata;
  }
}
