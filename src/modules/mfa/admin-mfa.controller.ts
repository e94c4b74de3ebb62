import { Controller, Delete, HttpCode, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { isUUID } from 'class-validator';
import { AcceptsApiKey } from '../../common/decorators/accepts-api-key.decorator';
import { Client } from '../../common/decorators/client.decorator';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import type { ClientInfo } from '../../common/events/domain-events';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import type { AuthContext } from '../auth/auth-context';
import { CurrentAuth } from '../auth/decorators/current-auth.decorator';
import { Roles } from '../auth/decorators/roles.decorator';
import { toUserResponse, UserResponse } from '../users/dto/user.response';
import { MfaEnrolmentService } from './mfa-enrolment.service';

@ApiTags('users (admin)')
@ProtectedApi()
@AcceptsApiKey('admin')
@Roles('admin')
@Controller('users')
export class AdminMfaController {
  constructor(private readonly mfa: MfaEnrolmentService) {}

  @Delete(':id/mfa')
  @HttpCode(200)
  @ApiOperation({ summary: "Turn a user's multi-factor sign-in off, e.g. after a lost device (admin)" })
  @ApiOkResponse({ type: UserResponse })
  @ApiProblems(401, 403, 404)
  async reset(
    @Param('id') id: string,
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
  ): Promise<UserResponse> {
    if (!isUUID(id)) throw new AppError(ErrorCode.NotFound, 'No such user.');
    return toUserResponse(await this.mfa.adminReset(id, auth.userId, client));
  }
}
