// Account administration: listing, approval, disabling and enabling. A status change is one
// conditional UPDATE, so two admins acting at once cannot both "approve"; disabling also ends every
// session of the user in the same request (the JWT guard refuses a disabled user's tokens anyway).
import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import {
  ClientInfo,
  UserApprovedEvent,
  UserDisabledEvent,
  UserEnabledEvent,
  UserUpdatedEvent,
} from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { TokensService } from '../tokens/tokens.service';
import type { UserEntity, UserStatus } from './user.entity';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

export interface UserPage {
  items: UserEntity[];
  total: number;
  page: number;
  limit: number;
}

@Injectable()
export class AdminUsersService {
  constructor(
    private readonly users: UsersService,
    private readonly directory: UsersRepository,
    private readonly tokens: TokensService,
    private readonly events: DomainEvents,
  ) {}

  async list(query: { status?: UserStatus; page: number; limit: number }): Promise<UserPage> {
    const [items, total] = await this.directory.list({
      status: query.status,
      offset: (query.page - 1) * query.limit,
      limit: query.limit,
    });
    return { items, total, page: query.page, limit: query.limit };
  }

  /** GET /users/:id, from a read replica when there is one (lag-tolerant). */
  async get(id: string): Promise<UserEntity> {
    const user = await this.directory.lookup(id);
    if (!user) throw new AppError(ErrorCode.NotFound, 'No such user.');
    return user;
  }

  /** pending_approval → active. Approving an account in another state changes nothing. */
  async approve(id: string, actorId: string, client: ClientInfo): Promise<UserEntity> {
    const user = await this.users.changeStatus(id, ['pending_approval'], 'active');
    if (!user) return this.users.getByIdOrFail(id);
    this.events.publish(new UserApprovedEvent(id, actorId, client), new UserUpdatedEvent(id));
    return user;
  }

  /** active or pending_approval → disabled, and every session of the user ends now. */
  async disable(id: string, actorId: string, client: ClientInfo): Promise<UserEntity> {
    if (id === actorId) throw new AppError(ErrorCode.Forbidden, 'You cannot disable your own account.');
    const user = await this.users.changeStatus(id, ['active', 'pending_approval'], 'disabled');
    if (!user) return this.users.getByIdOrFail(id);
    await this.tokens.revokeAllSessions(id, 'disabled', client);
    this.events.publish(new UserDisabledEvent(id, actorId, client), new UserUpdatedEvent(id));
    return user;
  }

  /** disabled → active. */
  async enable(id: string, actorId: string, client: ClientInfo): Promise<UserEntity> {
    const user = await this.users.changeStatus(id, ['disabled'], 'active');
    if (!user) return this.users.getByIdOrFail(id);
    this.events.publish(new UserEnabledEvent(id, actorId, client), new UserUpdatedEvent(id));
    return user;
  }
}
