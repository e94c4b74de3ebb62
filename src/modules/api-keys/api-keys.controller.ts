// A user's own API keys. Only a session may manage them: none of these routes accepts a key.
import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { isUUID } from 'class-validator';
import { Client } from '../../common/decorators/client.decorator';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { ClientInfo } from '../../common/events/domain-events';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import type { AuthContext } from '../auth/auth-context';
import { CurrentAuth } from '../auth/decorators/current-auth.decorator';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyResponse, CreatedApiKeyResponse, toApiKeyResponse } from './dto/api-key.response';
import { CreateApiKeyDto } from './dto/create-api-key.dto';

@ApiTags('api-keys')
@ProtectedApi()
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Create an API key (the key is shown this once)',
    description: 'Send it as X-API-Key. At most API_KEYS_MAX_PER_USER live keys per account.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  @ApiProblems(400, 401, 403, 413, 415)
  async create(
    @CurrentAuth() auth: AuthContext,
    @Body() body: CreateApiKeyDto,
    @Client() client: ClientInfo,
  ): Promise<CreatedApiKeyResponse> {
    const created = await this.apiKeys.create(auth.userId, body, client);
    return { ...toApiKeyResponse(created), key: created.key };
  }

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Your API keys (never the keys themselves)' })
  @ApiOkResponse({ type: [ApiKeyResponse] })
  @ApiProblems(401, 403)
  async list(@CurrentAuth() auth: AuthContext): Promise<ApiKeyResponse[]> {
    return (await this.apiKeys.list(auth.userId)).map(toApiKeyResponse);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete one of your API keys: it stops working at once, on every instance' })
  @ApiNoContentResponse()
  @ApiProblems(401, 403, 404)
  async delete(@CurrentAuth() auth: AuthContext, @Param('id') id: string, @Client() client: ClientInfo): Promise<void> {
    if (!isUUID(id)) throw new AppError(ErrorCode.NotFound, 'No such API key.');
    await this.apiKeys.delete(auth.userId, id, client);
  }
}
