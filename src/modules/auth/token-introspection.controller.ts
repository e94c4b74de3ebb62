// RFC 7009 token revocation and RFC 7662 token introspection, form-encoded as the RFCs say.
import { Body, Controller, Header, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Client } from '../../common/decorators/client.decorator';
import { AcceptsApiKey } from '../../common/decorators/accepts-api-key.decorator';
import { Public } from '../../common/decorators/public.decorator';
import type { ClientInfo } from '../../common/events/domain-events';
import { FormBody } from '../../common/http/content-type';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import { RateLimit } from '../throttle/rate-limit.decorator';
import type { AuthContext } from './auth-context';
import { CurrentAuth } from './decorators/current-auth.decorator';
import { IntrospectionResponse, TokenRequestDto } from './dto/token-introspection.dto';
import { TokenIntrospectionService } from './token-introspection.service';

@ApiTags('auth')
@Controller('auth')
export class TokenIntrospectionController {
  constructor(private readonly introspection: TokenIntrospectionService) {}

  @Public()
  @FormBody()
  @RateLimit('token')
  @Post('revoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'RFC 7009: revoke a refresh token (ends its session); unknown tokens are also 200' })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ type: TokenRequestDto })
  @ApiOkResponse({ description: 'Revoked, or nothing to revoke' })
  @ApiProblems(400)
  async revoke(@Body() body: TokenRequestDto, @Client() client: ClientInfo): Promise<void> {
    await this.introspection.revoke(body.token, client);
  }

  @ProtectedApi()
  @AcceptsApiKey('introspect')
  @FormBody()
  @Post('introspect')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'RFC 7662: is this access token, refresh token or API key active? (admin, or a key with scope introspect)',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ type: TokenRequestDto })
  @ApiOkResponse({ type: IntrospectionResponse })
  @ApiProblems(400, 401, 403)
  introspect(@Body() body: TokenRequestDto, @CurrentAuth() caller: AuthContext): Promise<IntrospectionResponse> {
    return this.introspection.introspect(caller, body.token, body.token_type_hint);
  }
}
