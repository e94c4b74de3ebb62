import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { isUUID } from 'class-validator';
import { AcceptsApiKey } from '../../common/decorators/accepts-api-key.decorator';
import { Client } from '../../common/decorators/client.decorator';
import { CurrentAuth } from '../auth/decorators/current-auth.decorator';
import { Roles } from '../auth/decorators/roles.decorator';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { ClientInfo } from '../../common/events/domain-events';
import type { AuthContext } from '../auth/auth-context';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import { AdminUsersService } from './admin-users.service';
import { ListUsersQuery, UserPageResponse } from './dto/list-users.query';
import { toUserResponse, UserResponse } from './dto/user.response';

/** A malformed id names no user: 404, like an unknown one. */
function userId(id: string): string {
  if (!isUUID(id)) throw new AppError(ErrorCode.NotFound, 'No such user.');
  return id;
}

@ApiTags('users (admin)')
@ProtectedApi()
@AcceptsApiKey('admin')
@Roles('admin')
@Controller('users')
export class AdminUsersController {
  constructor(private readonly admin: AdminUsersService) {}

  @Get()
  @ApiOperation({ summary: 'List users, newest first (admin)' })
  @ApiOkResponse({ type: UserPageResponse })
  @ApiProblems(400, 401, 403)
  async list(@Query() query: ListUsersQuery): Promise<UserPageResponse> {
    const page = await this.admin.list(query);
    return { ...page, items: page.items.map(toUserResponse) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One user (admin)' })
  @ApiOkResponse({ type: UserResponse })
  @ApiProblems(401, 403, 404)
  async get(@Param('id') id: string): Promise<UserResponse> {
    return toUserResponse(await this.admin.get(userId(id)));
  }

  @Post(':id/approve')
  @HttpCode(200)
  @ApiOperation({ summary: 'Approve a pending account (admin)' })
  @ApiOkResponse({ type: UserResponse })
  @ApiProblems(401, 403, 404)
  async approve(
    @Param('id') id: string,
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
  ): Promise<UserResponse> {
    return toUserResponse(await this.admin.approve(userId(id), auth.userId, client));
  }

  @Post(':id/disable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Disable an account and end all its sessions at once (admin)' })
  @ApiOkResponse({ type: UserResponse })
  @ApiProblems(401, 403, 404)
  async disable(
    @Param('id') id: string,
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
  ): Promise<UserResponse> {
    return toUserResponse(await this.admin.disable(userId(id), auth.userId, client));
  }

  @Post(':id/enable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Enable a disabled account (admin)' })
  @ApiOkResponse({ type: UserResponse })
  @ApiProblems(401, 403, 404)
  async enable(
    @Param('id') id: string,
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
  ): Promise<UserResponse> {
    return toUserResponse(await this.admin.enable(userId(id), auth.userId, client));
  }
}
