import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AcceptsApiKey } from '../../common/decorators/accepts-api-key.decorator';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import { Roles } from '../auth/decorators/roles.decorator';
import { SigningKeyResponse, toKeyResponses } from './dto/keys.response';
import { ManagedSigningKeys } from './managed-signing-keys.service';
import { SigningKeys } from './signing-keys.service';

@ApiTags('keys (admin)')
@ProtectedApi()
@AcceptsApiKey('admin')
@Roles('admin')
@Controller('keys')
export class KeysController {
  constructor(
    private readonly keys: SigningKeys,
    private readonly managed: ManagedSigningKeys,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Managed signing keys and their states (admin)' })
  @ApiOkResponse({ type: [SigningKeyResponse] })
  @ApiProblems(401, 403)
  list(): SigningKeyResponse[] {
    return toKeyResponses(this.keys.list());
  }

  @Post('rotate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Publish a new key now; it signs after the publish-ahead delay (admin)' })
  @ApiOkResponse({ type: [SigningKeyResponse] })
  @ApiProblems(401, 403, 404)
  async rotate(): Promise<SigningKeyResponse[]> {
    return toKeyResponses(await this.managed.rotate());
  }

  @Post(':kid/revoke')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Revoke a compromised key: out of the JWKS and refused at once; a new key signs if it was signing (admin)',
  })
  @ApiOkResponse({ type: [SigningKeyResponse] })
  @ApiProblems(401, 403, 404)
  async revoke(@Param('kid') kid: string): Promise<SigningKeyResponse[]> {
    return toKeyResponses(await this.managed.revoke(kid));
  }
}
