// Orchestrates the authentication flows; the work itself belongs to users, tokens and passwords.
// Only what the caller waits for happens here: side effects are events handled after the response.
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppError, ErrorCode } from '../../common/errors/app-error';
import {
  ClientInfo,
  LoginFailedEvent,
  LoginFailureReason,
  LoginSucceededEvent,
  UserRegisteredEvent,
} from '../../common/events/domain-events';
import { DomainEvents } from '../../common/events/domain-events.service';
import { holdResponseFor } from '../../common/request-context';
import { derivedOnce } from '../../common/shared-value';
import { AuditTrail } from '../audit/audit-trail';
import { AuthContext, sessionOf } from './auth-context';
import type { AuthConfig, LatchConfig } from '../../config/configuration';
import { type LoginCounter, LoginProtectionService } from '../throttle/login-protection.service';
import { AccessTokenService } from '../tokens/access-token.service';
import { TokensService } from '../tokens/tokens.service';
import type { UserEntity } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import type { RegisterDto } from './dto/register.dto';
import type {
  ApiKeyVerifyResponse,
  SessionResponse,
  TokenPairResponse,
  VerifyResponse,
} from './dto/token-pair.response';
import { EmailVerificationService } from './email-verification.service';
import { PasswordHasher } from './passwords/password-hasher.service';
import { assertPasswordAllowed } from './passwords/password-policy';
import { issueTokens, tokenPairResponse } from './token-pair';

const STATUS_ERRORS: Record<Exclude<UserEntity['status'], 'active'>, [ErrorCode, string, LoginFailureReason]> = {
  pending_approval: [ErrorCode.AccountPendingApproval, 'This account is waiting for approval.', 'pending_approval'],
  disabled: [ErrorCode.AccountDisabled, 'This account is disabled.', 'disabled'],
};

/** The identifiers an account can be named by at sign-in. */
export function loginNamesOf(user: Pick<UserEntity, 'email' | 'username'>): string[] {
  return user.username ? [user.email, user.username] : [user.email];
}

export function invalidCredentials(): AppError {
  return new AppError(ErrorCode.InvalidCredentials, 'The e-mail address or password is incorrect.');
}

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  private readonly config: AuthConfig;

  constructor(
    private readonly users: UsersService,
    private readonly tokens: TokensService,
    private readonly accessTokens: AccessTokenService,
    private readonly passwords: PasswordHasher,
    private readonly loginProtection: LoginProtectionService,
    private readonly events: DomainEvents,
    config: ConfigService<LatchConfig, true>,
    @InjectDataSource() private readonly db: DataSource,
    private readonly verification: EmailVerificationService,
    private readonly auditTrail: AuditTrail,
  ) {
    this.config = config.get('auth', { infer: true });
  }

  async register(dto: RegisterDto, client: ClientInfo): Promise<UserEntity> {
    assertPasswordAllowed(dto.password, this.config.passwordMinLength);
    const passwordHash = await this.passwords.hash(dto.password);
    // The verification mail is queued in the transaction that creates the account (docs/mail.md).
    const user = await this.db.transaction(async (manager) => {
      const created = await this.users.create(
        {
          email: dto.email,
          passwordHash,
          username: dto.username ?? null,
          displayName: dto.displayName ?? null,
          status: this.config.requireApproval ? 'pending_approval' : 'active',
        },
        manager,
      );
      await this.verification.queue(manager, created);
      return created;
    });
    this.events.publish(new UserRegisteredEvent(user.id, user.email, client));
    return user;
  }

  /**
   * Checks a password. Unknown accounts cost the same bcrypt work as wrong passwords, and account
   * states (pending, disabled, unverified) are revealed only after a correct password.
   */
  async checkCredentials(
    login: string,
    password: string,
    client: ClientInfo,
    allowUsername = false,
  ): Promise<UserEntity> {
    const account = login.normalize('NFC').trim();
    // The same steps whether or not the name finds an account: one lookup of the name's compared
    // form, two counters, one bcrypt comparison (docs/security.md, "Per-account protection").
    // The account lookup runs beside the name's compared form and its counter (an ASCII name is
    // compared without a round trip, UsersRepository.loginNames); its result is used only once
    // the name's counter has admitted the attempt.
    const lookup = this.users.findForLogin(account, allowUsername);
    lookup.catch(() => undefined); // awaited below; a failure before then is not unhandled
    const [name] = await this.users.loginNames([account]);
    const nameCounter = this.loginProtection.nameCounter(name);
    await this.admit(nameCounter, null, name, client);
    let found: Awaited<ReturnType<UsersService['findForLogin']>>;
    try {
      found = await lookup;
    } catch (error) {
      await this.loginProtection.abandoned(nameCounter); // an outage is no failed guess
      throw error;
    }
    const accountCounter = this.loginProtection.accountCounter(found?.id ?? null, name);
    await this.admit(accountCounter, found?.id ?? null, name, client).catch(async (error: unknown) => {
      await this.loginProtection.abandoned(nameCounter); // refused: the name's count stays where it was
      throw error;
    });
    // The account's names, as compared, are looked up while bcrypt runs (off the critical path).
    const accountNames = found ? this.users.loginNames(loginNamesOf(found)) : undefined;
    accountNames?.catch(() => undefined); // awaited below
    let valid: boolean;
    try {
      valid = await this.passwords.verify(password, found?.passwordHash);
    } catch (error) {
      await this.loginProtection.abandoned(nameCounter, accountCounter); // a full queue is no failed guess
      throw error;
    }
    if (!found || !valid) {
      this.events.publish(
        new LoginFailedEvent(found?.id ?? null, 'invalid_credentials', client, this.trace(found?.id, name)),
      );
      throw invalidCredentials();
    }
    // The account starts afresh under every name it has (the one typed is among them). With MFA on,
    // only its names do: the account's count goes on until the second factor is right, so that a
    // known password cannot buy fresh guesses at the code (docs/security.md, "Multi-factor").
    // The response waits for the clearing, which meanwhile runs beside the session's creation.
    await holdResponseFor(
      'Clearing the sign-in counters',
      accountNames!.then((names) =>
        found.mfaEnabled
          ? this.loginProtection.succeeded(...names.map((n) => this.loginProtection.nameCounter(n)))
          : this.loginProtection.clearAccount(found.id, names),
      ),
    );
    if (found.status !== 'active') {
      const [code, message, reason] = STATUS_ERRORS[found.status];
      this.events.publish(new LoginFailedEvent(found.id, reason, client));
      throw new AppError(code, message);
    }
    if (this.config.emailVerificationRequired && !found.emailVerified) {
      this.events.publish(new LoginFailedEvent(found.id, 'email_not_verified', client));
      throw new AppError(ErrorCode.EmailNotVerified, 'Verify your e-mail address before signing in.');
    }
    if (this.passwords.needsRehash(found.passwordHash)) this.upgradeHash(found.id, password);
    const { passwordHash: _omit, ...user } = found;
    return user as UserEntity;
  }

  /** Counts the attempt on one counter; a refusal is audited (with a trace of the name if no account). */
  private async admit(counter: LoginCounter, userId: string | null, name: string, client: ClientInfo): Promise<void> {
    await this.loginProtection.admit(counter, () =>
      this.events.publish(new LoginFailedEvent(userId, 'locked', client, this.trace(userId, name))),
    );
  }

  /**
   * For an attempt that names no account, a keyed hash of the name tried (never the name), so
   * credential stuffing shows in the audit trail; for an account, its id says enough.
   */
  private trace(accountId: string | null | undefined, name: string): string | undefined {
    return accountId ? undefined : this.loginProtection.identifierHash(name);
  }

  /** The statement that creates the session also writes the login's audit record: both or neither. */
  async startSession(user: UserEntity, client: ClientInfo): Promise<TokenPairResponse> {
    const login = new LoginSucceededEvent(user.id, randomUUID(), client);
    const { session, refreshToken } = await this.tokens.startSession(user.id, client, {
      id: login.sessionId,
      alongside: this.auditTrail.insertOf(login),
    });
    const issued = issueTokens(this.accessTokens, user, session, refreshToken);
    this.events.publish(login);
    return tokenPairResponse(issued, user);
  }

  async logout(auth: AuthContext, client: ClientInfo): Promise<void> {
    await this.tokens.revokeSession(sessionOf(auth).sessionId, 'logout', client);
  }

  async logoutAll(auth: AuthContext, client: ClientInfo): Promise<void> {
    await this.tokens.revokeAllSessions(auth.userId, 'logout_all', client);
  }

  async listSessions(auth: AuthContext): Promise<SessionResponse[]> {
    const sessions = await this.tokens.listSessions(auth.userId);
    return sessions.map((s) => ({
      id: s.id,
      createdAt: s.createdAt.toISOString(),
      lastUsedAt: s.lastUsedAt.toISOString(),
      expiresAt: s.expiresAt.toISOString(),
      userAgent: s.userAgent,
      ip: s.ip,
      current: s.id === auth.sessionId,
    }));
  }

  async deleteSession(auth: AuthContext, sessionId: string, client: ClientInfo): Promise<void> {
    const ended = await this.tokens.revokeSession(sessionId, 'deleted', client, auth.userId);
    if (!ended) throw new AppError(ErrorCode.NotFound, 'No such session.');
  }

  verify(auth: AuthContext): VerifyResponse | ApiKeyVerifyResponse {
    // A frozen caller is the JWT strategy's in-memory one, shared while nothing changes: so is its answer.
    return derivedOnce(verified, auth, verifyResponse);
  }

  /** A hash made at a lower cost than configured is replaced after a successful login. */
  private upgradeHash(userId: string, password: string): void {
    void this.passwords
      .hash(password)
      .then((hash) => this.users.setPasswordHash(userId, hash))
      .catch((error: unknown) =>
        this.logger.warn(`Could not upgrade the password hash of ${userId}: ${String(error)}`),
      );
  }
}

/** Answers of GET /auth/verify for the callers the JWT strategy keeps in memory (frozen, shared). */
const verified = new WeakMap<AuthContext, Readonly<VerifyResponse | ApiKeyVerifyResponse>>();

function verifyResponse(auth: AuthContext): VerifyResponse | ApiKeyVerifyResponse {
  if (auth.apiKey) {
    return {
      valid: true,
      userId: auth.userId,
      apiKeyId: auth.apiKey.id,
      roles: auth.roles,
      scopes: auth.apiKey.scopes,
      expiresAt: auth.apiKey.expiresAt ? auth.apiKey.expiresAt.toISOString() : null,
    };
  }
  const { sessionId, tokenExpiresAt } = sessionOf(auth);
  return {
    valid: true,
    userId: auth.userId,
    sessionId,
    roles: auth.roles,
    expiresAt: tokenExpiresAt.toISOString(),
  };
}
