// Users table access with intent-named methods; unique violations become domain errors here.
// Plain CRUD, so TypeORM's Repository API (src/database/sql.ts, rule 2), except the two statements
// every sign-in makes: the account lookup before its password check, a plain statement built once
// and read through rows() (rule 3), because TypeORM's query builder cost two to three times the
// statement's own CPU on the sign-in's critical path (0.17–0.35 ms against 0.08–0.14 per lookup,
// docs/benchmarks.md); and the last-login stamp after the response, one statement on the pool.
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, QueryFailedError, Repository } from 'typeorm';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import { ReadReplicas } from '../../database/read-replicas';
import { pooled, row } from '../../database/sql';
import type { Role } from './role';
import { UserEntity, UserStatus } from './user.entity';

const STAMP_LAST_LOGIN =
  'UPDATE users SET last_login_at = $2 WHERE id = $1 AND (last_login_at IS NULL OR last_login_at < $2)';

export interface NewUser {
  email: string;
  passwordHash: string;
  username?: string | null;
  displayName?: string | null;
  status: UserStatus;
  roles?: Role[];
  emailVerified?: boolean;
}

export type UserWithPassword = UserEntity & { passwordHash: string };

/** Printable ASCII: any other name (Unicode, control characters) is lowered by the database. */
const ASCII = /^[ -~]*$/;
const ASCII_CAPITALS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function uniqueViolation(error: unknown): AppError | null {
  if (!(error instanceof QueryFailedError)) return null;
  const driver = error.driverError as { code?: string; constraint?: string };
  if (driver.code !== '23505') return null;
  if (driver.constraint === 'users_email_lower_key') {
    return new AppError(ErrorCode.EmailTaken, 'An account with this e-mail address already exists.');
  }
  if (driver.constraint === 'users_username_lower_key') {
    return new AppError(ErrorCode.UsernameTaken, 'This username is already taken.');
  }
  return null;
}

@Injectable()
export class UsersRepository {
  /** Whether the database's lower() agrees with toLowerCase() on ASCII: unknown, being asked, or known. */
  private asciiLower: boolean | Promise<boolean> | undefined;
  /** getForLogin's two statements (by e-mail; by e-mail or username), built on first use from the entity. */
  private loginLookups?: { byEmail: string; byEmailOrUsername: string };

  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly replicas: ReadReplicas,
  ) {}

  /** The users repository of the caller's transaction, or the default one. */
  private within(manager?: EntityManager): Repository<UserEntity> {
    return manager ? manager.getRepository(UserEntity) : this.users;
  }

  /** Inserts through the caller's transaction when a manager is given. */
  async create(user: NewUser, manager?: EntityManager): Promise<UserEntity> {
    const users = this.within(manager);
    const entity = users.create({
      email: user.email,
      passwordHash: user.passwordHash,
      username: user.username ?? null,
      displayName: user.displayName ?? null,
      status: user.status,
      roles: user.roles ?? ['user'],
      emailVerified: user.emailVerified ?? false,
      lastLoginAt: null,
    });
    try {
      // insert() is one INSERT ... RETURNING that fills id and timestamps into the entity.
      await users.insert(entity);
    } catch (error) {
      throw uniqueViolation(error) ?? error;
    }
    return entity;
  }

  getById(id: string): Promise<UserEntity | null> {
    return this.users.findOneBy({ id });
  }

  /** The admin lookup (GET /users/:id): lag-tolerant, so from a read replica when there is one. */
  lookup(id: string): Promise<UserEntity | null> {
    return this.replicas.read((db) => db.getRepository(UserEntity).findOneBy({ id }));
  }

  /** Login lookup by e-mail, or by e-mail or username for the OAuth password grant. */
  getForLogin(login: string, allowUsername: boolean): Promise<UserWithPassword | null> {
    const lookups = (this.loginLookups ??= this.buildLoginLookups());
    return row<UserWithPassword, keyof UserWithPassword>(
      this.users,
      allowUsername ? lookups.byEmailOrUsername : lookups.byEmail,
      [login],
    );
  }

  /** Every column of the entity, the password hash included (it is `select: false` elsewhere). */
  private buildLoginLookups(): { byEmail: string; byEmailOrUsername: string } {
    const columns = this.users.metadata.columns.map((column) => `"${column.databaseName}"`).join(', ');
    const byEmail = `SELECT ${columns} FROM users WHERE lower(email) = lower($1)`;
    return { byEmail, byEmailOrUsername: `${byEmail} OR lower(username) = lower($1)` };
  }

  /**
   * Names as getForLogin compares them (PostgreSQL's lower(), which JavaScript's toLowerCase() does
   * not match for every letter): two names find the same account exactly when these agree.
   * ASCII names (nearly every e-mail address) are lowered here, without a round trip, once the
   * database has shown that its lower() maps the 26 ASCII capitals as JavaScript does (a Turkish
   * locale, for one, does not); any other name is lowered by the database.
   */
  async loginNames(names: string[]): Promise<string[]> {
    if (names.every((name) => ASCII.test(name)) && (await this.asciiLowerAgrees())) {
      return names.map((name) => name.toLowerCase());
    }
    const rows: { name: string }[] = await this.users.query(
      'SELECT lower(n) AS name FROM unnest($1::text[]) WITH ORDINALITY AS t(n, i) ORDER BY i',
      [names],
    );
    return rows.map((row) => row.name);
  }

  /** Asked once (again after a failure): whether the database lowers ASCII as JavaScript does. */
  private asciiLowerAgrees(): Promise<boolean> | boolean {
    if (this.asciiLower !== undefined) return this.asciiLower;
    const asked = this.users
      .query(`SELECT lower($1::text) = $2 AS agrees`, [ASCII_CAPITALS, ASCII_CAPITALS.toLowerCase()])
      .then((rows: { agrees: boolean }[]) => (this.asciiLower = rows[0]?.agrees === true))
      .catch((error: unknown) => {
        this.asciiLower = undefined;
        throw error;
      });
    this.asciiLower = asked;
    return asked;
  }

  async getPasswordHash(id: string): Promise<string | null> {
    const row = await this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.id = :id', { id })
      .getOne();
    return row ? (row as UserWithPassword).passwordHash : null;
  }

  async updateProfile(
    id: string,
    changes: { username?: string | null; displayName?: string | null },
  ): Promise<UserEntity | null> {
    try {
      await this.users.update({ id }, changes);
    } catch (error) {
      throw uniqueViolation(error) ?? error;
    }
    return this.getById(id);
  }

  async setPasswordHash(id: string, passwordHash: string, manager?: EntityManager): Promise<void> {
    await this.within(manager).update({ id }, { passwordHash });
  }

  /** Returns whether the address was unverified until now. */
  async markEmailVerified(id: string, manager?: EntityManager): Promise<boolean> {
    const result = await this.within(manager).update({ id, emailVerified: false }, { emailVerified: true });
    return (result.affected ?? 0) > 0;
  }

  /** Returns whether the flag changed. */
  async setMfaEnabled(id: string, enabled: boolean, manager?: EntityManager): Promise<boolean> {
    const result = await this.within(manager).update({ id, mfaEnabled: !enabled }, { mfaEnabled: enabled });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Runs after every sign-in, so it is one statement on the pool (sql.ts, rule 4): the query builder
   * cost several times the statement in CPU, on the thread the next request waits for. A later
   * stamp never goes back in time, and `updated_at` (the profile's) is left as it is.
   */
  async stampLastLogin(id: string, at: Date): Promise<void> {
    await pooled(this.users.manager.connection).query(STAMP_LAST_LOGIN, [id, at]);
  }

  /** Admin listing, newest first (users_status_created_idx when filtered by status). */
  async list(filter: { status?: UserStatus; offset: number; limit: number }): Promise<[UserEntity[], number]> {
    // Lag-tolerant: from a read replica when there is one.
    return this.replicas.read((db) =>
      db.getRepository(UserEntity).findAndCount({
        where: filter.status ? { status: filter.status } : {},
        order: { createdAt: 'DESC', id: 'DESC' },
        skip: filter.offset,
        take: filter.limit,
      }),
    );
  }

  /** Moves a user to `to` only from one of `from` (race-free); null when nothing changed. */
  async transitionStatus(id: string, from: UserStatus[], to: UserStatus): Promise<UserEntity | null> {
    const result = await this.users
      .createQueryBuilder()
      .update()
      .set({ status: to })
      .where('id = :id AND status IN (:...from)', { id, from })
      .execute();
    return result.affected ? this.getById(id) : null;
  }

  async hasAdmin(): Promise<boolean> {
    return this.users.createQueryBuilder('u').where(`'admin' = ANY(u.roles)`).getExists();
  }
}
