// An admin's view of any user's API keys: list them, delete one (e.g. a leaked key) or all of them.
import { Controller, Delete, Get, Header, HttpCode, Param } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { isUUID } from 'class-validator';
import { AcceptsApiKey } from '../../common/decorators/accepts-api-key.decorator';
import { Client } from '../../common/decorators/client.decorator';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { ClientInfo } from '../../common/events/domain-events';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import type { AuthContext } from '../auth/auth-context';
import { CurrentAuth } from '../auth/decorators/current-auth.decorator';
import { Roles } from '../auth/decorators/roles.decorator';
import { UsersService } from '../users/users.service';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyResponse, toApiKeyResponse } from './dto/api-key.response';

@ApiTags('users (admin)')
@ProtectedApi()
@AcceptsApiKey('admin')
@Roles('admin')
@Controller('users')
export class AdminApiKeysController {
  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly users: UsersService,
  ) {}

  @Get(':id/api-keys')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: "A user's API keys (admin)" })
  @ApiOkResponse({ type: [ApiKeyResponse] })
  @ApiProblems(401, 403, 404)
  async list(@Param('id') id: string): Promise<ApiKeyResponse[]> {
    if (!isUUID(id)) throw new AppError(ErrorCode.NotFound, 'No such user.');
    await this.users.getByIdOrFail(id);
    return (await this.apiKeys.list(id)).map(toApiKeyResponse);
  }

  @Delete(':id/api-keys')
  @HttpCode(204)
  @ApiOperation({ summary: "Delete all of a user's API keys (admin): they stop working at once, on every instance" })
  @ApiNoContentResponse()
  @ApiProblems(401, 403, 404)
  async deleteAll(
    @Param('id') id: string,
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
  ): Promise<void> {
    if (!isUUID(id)) throw new AppError(ErrorCode.NotFound, 'No such user.');
    await this.users.getByIdOrFail(id);
    await this.apiKeys.deleteAll(id, client, auth.userId);
  }

  @Delete(':id/api-keys/:keyId')
  @HttpCode(204)
  @ApiOperation({ summary: "Delete a user's API key (admin): it stops working at once, on every instance" })
  @ApiNoContentResponse()
  @ApiProblems(401, 403, 404)
  async delete(
    @Param('id') id: string,
    @Param('keyId') keyId: string,
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
  ): Promise<void> {
    if (!isUUID(id) || !isUUID(keyId)) throw new AppError(ErrorCode.NotFound, 'No such API key.');
    await this.apiKeys.delete(id, keyId, client, auth.userId);
  }
}
