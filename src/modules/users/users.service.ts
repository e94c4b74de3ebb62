// Accounts: lookups, profile changes and status. Emits UserUpdated so caches can forget a user.
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import { UserUpdatedEvent } from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { CacheKind, StateCache } from '../cache/state-cache.service';
import { UserEntity, UserStatus } from './user.entity';
import { NewUser, UsersRepository, UserWithPassword } from './users.repository';

/** Users in the state cache: dates travel as ISO strings and come back as Dates. */
const USER_CODEC = {
  encode: (user: UserEntity): string => {
    const { passwordHash: _never, ...safe } = user as UserEntity & { passwordHash?: string };
    return JSON.stringify(safe);
  },
  decode: (raw: string): UserEntity => {
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    const date = (value: unknown): Date | null => (typeof value === 'string' ? new Date(value) : null);
    return Object.assign(new UserEntity(), parsed, {
      createdAt: date(parsed.createdAt),
      updatedAt: date(parsed.updatedAt),
      lastLoginAt: date(parsed.lastLoginAt),
    });
  },
  ttlMs: (): number => Number.POSITIVE_INFINITY,
};

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly events: DomainEvents,
    private readonly cache: StateCache,
  ) {}

  create(user: NewUser, manager?: EntityManager): Promise<UserEntity> {
    return this.users.create(user, manager);
  }

  /** Read through the state cache (the JWT strategy asks on every request); every write evicts. */
  getById(id: string): Promise<UserEntity | null> {
    return this.cache.getOrLoad(CacheKind.User, id, () => this.users.getById(id), USER_CODEC);
  }

  /** The user from this instance's memory alone (shared and frozen), or undefined: see StateCache.peek. */
  peekById(id: string): Readonly<UserEntity> | undefined {
    return this.cache.peek(CacheKind.User, id, USER_CODEC);
  }

  /** For a change made in a transaction: drop the cached user again once it has committed. */
  evictCached(id: string): Promise<void> {
    return this.forgetCached(id);
  }

  /** Drops the cached user on every instance: each write to a user ends with it. */
  private async forgetCached(id: string): Promise<void> {
    await this.cache.forget(CacheKind.User, [id]);
  }

  async getByIdOrFail(id: string): Promise<UserEntity> {
    const user = await this.users.getById(id);
    if (!user) throw new AppError(ErrorCode.NotFound, 'No such user.');
    return user;
  }

  findForLogin(login: string, allowUsername = false): Promise<UserWithPassword | null> {
    return this.users.getForLogin(login, allowUsername);
  }

  /** The names as findForLogin compares them, for per-account sign-in protection. */
  loginNames(names: string[]): Promise<string[]> {
    return this.users.loginNames(names);
  }

  getPasswordHash(id: string): Promise<string | null> {
    return this.users.getPasswordHash(id);
  }

  /** With a manager the change joins the caller's transaction. */
  async setPasswordHash(id: string, passwordHash: string, manager?: EntityManager): Promise<void> {
    await this.users.setPasswordHash(id, passwordHash, manager);
    await this.forgetCached(id);
    this.events.publish(new UserUpdatedEvent(id));
  }

  async markEmailVerified(id: string, manager?: EntityManager): Promise<void> {
    if (!(await this.users.markEmailVerified(id, manager))) return;
    await this.forgetCached(id);
    this.events.publish(new UserUpdatedEvent(id));
  }

  /** Whether sign-in asks for a second factor; with a manager it joins the caller's transaction. */
  async setMfaEnabled(id: string, enabled: boolean, manager?: EntityManager): Promise<boolean> {
    const changed = await this.users.setMfaEnabled(id, enabled, manager);
    await this.forgetCached(id);
    this.events.publish(new UserUpdatedEvent(id));
    return changed;
  }

  async updateProfile(
    id: string,
    changes: { username?: string | null; displayName?: string | null },
  ): Promise<UserEntity> {
    const user = await this.users.updateProfile(id, changes);
    if (!user) throw new AppError(ErrorCode.NotFound, 'No such user.');
    await this.forgetCached(id);
    this.events.publish(new UserUpdatedEvent(id));
    return user;
  }

  async stampLastLogin(id: string, at: Date): Promise<void> {
    await this.users.stampLastLogin(id, at);
    await this.forgetCached(id);
  }

  /** Moves the user to `to` if their status is one of `from`; null (and no change) otherwise. */
  async changeStatus(id: string, from: UserStatus[], to: UserStatus): Promise<UserEntity | null> {
    const user = await this.users.transitionStatus(id, from, to);
    if (user) await this.forgetCached(id);
    return user;
  }

  hasAdmin(): Promise<boolean> {
    return this.users.hasAdmin();
  }
}
