import { Controller, MessageEvent, Sse } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiProperty, ApiTags } from '@nestjs/swagger';
import { map, Observable } from 'rxjs';
import { CurrentAuth } from '../auth/decorators/current-auth.decorator';
import { Roles } from '../auth/decorators/roles.decorator';
import { AuthContext, sessionOf } from '../auth/auth-context';
import { ApiProblems, ProtectedApi } from '../../common/http/openapi';
import { PresenceService, PresenceStatus } from './presence.service';
import { MAX_STREAMS_PER_INSTANCE, MAX_STREAMS_PER_USER } from './stream-slots';

class PresenceChangeSchema {
  @ApiProperty({ format: 'uuid' })
  userId: string;

  @ApiProperty({ enum: ['online', 'offline'] })
  status: PresenceStatus;

  @ApiProperty({ format: 'date-time' })
  at: string;
}

@ApiTags('users')
@ProtectedApi()
@Controller('users')
export class PresenceController {
  constructor(private readonly presence: PresenceService) {}

  @Sse('presence/stream')
  @Roles('admin')
  @ApiOperation({
    summary: 'Live presence (Server-Sent Events, admin)',
    description:
      'Each `data:` line is a JSON `{ userId, status: "online" | "offline", at }`, sent when a user logs in, ' +
      'logs out or loses their last session. The stream ends when the session that opened it ends (on any ' +
      "instance), when its admin is disabled, and at the access token's `exp`: reconnect with a fresh token. " +
      `At most ${MAX_STREAMS_PER_USER} streams per user per instance (429 \`RATE_LIMITED\` beyond) and ` +
      `${MAX_STREAMS_PER_INSTANCE} per instance (503 \`SERVICE_UNAVAILABLE\`), both with \`Retry-After\`.`,
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ type: PresenceChangeSchema, description: 'A stream of presence changes' })
  @ApiProblems(401, 403)
  stream(@CurrentAuth() auth: AuthContext): Observable<MessageEvent> {
    return this.presence
      .watch({ userId: auth.userId, ...sessionOf(auth) })
      .pipe(map((change): MessageEvent => (change ? { data: change } : { comment: 'keep-alive' })));
  }
}
