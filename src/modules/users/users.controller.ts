import { Body, Controller, Get, Header, Patch, Req } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AcceptsApiKey } from '../../common/decorators/accepts-api-key.decorator';
import type { FastifyRequest } from 'fastify';
import { authOf, CurrentAuth } from '../auth/decorators/current-auth.decorator';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import type { AuthContext } from '../auth/auth-context';
import { UpdateProfileDto } from './dto/update-profile.dto';
import { toUserResponse, USER_RESPONSE_SCHEMA, UserResponse } from './dto/user.response';
import { UsersService } from './users.service';

@ApiTags('users')
@ProtectedApi()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @AcceptsApiKey('profile')
  @RouteSchema({ response: { 200: USER_RESPONSE_SCHEMA } })
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserResponse })
  @ApiProblems(400, 401, 403)
  me(@Req() request: FastifyRequest): UserResponse {
    return toUserResponse(authOf(request).user);
  }

  @Patch('me')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Change your username or display name' })
  @ApiOkResponse({ type: UserResponse })
  @ApiProblems(400, 401, 409)
  async updateMe(@CurrentAuth() auth: AuthContext, @Body() body: UpdateProfileDto): Promise<UserResponse> {
    return toUserResponse(await this.users.updateProfile(auth.userId, body));
  }
}
