// Accounts: lookups, profile changes and status. Emits UserUpdated so caches can forget a user.
import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { EntityManager } from 'typeorm';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import { UserUpdatedEvent } from '../../common/events/domain-events';
import { UserEntity } from './user.entity';
import { NewUser, UsersRepository, UserWithPassword } from './users.repository';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly events: EventEmitter2,
  ) {}

  create(user: NewUser, manager?: EntityManager): Promise<UserEntity> {
    return this.users.create(user, manager);
  }

  getById(id: string): Promise<UserEntity | null> {
    return this.users.getById(id);
  }

  async getByIdOrFail(id: string): Promise<UserEntity> {
    const user = await this.users.getById(id);
    if (!user) throw new AppError(ErrorCode.NotFound, 'No such user.');
    return user;
  }

  findForLogin(login: string, allowUsername = false): Promise<UserWithPassword | null> {
    return this.users.getForLogin(login, allowUsername);
  }

  getPasswordHash(id: string): Promise<string | null> {
    return this.users.getPasswordHash(id);
  }

  /** With a manager the change joins the caller's transaction. */
  async setPasswordHash(id: string, passwordHash: string, manager?: EntityManager): Promise<void> {
    await this.users.setPasswordHash(id, passwordHash, manager);
    const event = new UserUpdatedEvent(id);
    this.events.emit(event.name, event);
  }

  async markEmailVerified(id: string, manager?: EntityManager): Promise<void> {
    if (!(await this.users.markEmailVerified(id, manager))) return;
    const event = new UserUpdatedEvent(id);
    this.events.emit(event.name, event);
  }

  async updateProfile(
    id: string,
    changes: { username?: string | null; displayName?: string | null },
  ): Promise<UserEntity> {
    const user = await this.users.updateProfile(id, changes);
    if (!user) throw new AppError(ErrorCode.NotFound, 'No such user.');
    const event = new UserUpdatedEvent(id);
    this.events.emit(event.name, event);
    return user;
  }

  stampLastLogin(id: string, at: Date): Promise<void> {
    return this.users.stampLastLogin(id, at);
  }
}
