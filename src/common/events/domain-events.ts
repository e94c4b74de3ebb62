// Every domain event Latch emits, named in one place. Emitters and listeners import these classes;
// a listener never imports the module that emits. Payloads carry ids, never secrets or tokens.

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export const DomainEvent = {
  UserRegistered: 'user.registered',
  LoginSucceeded: 'auth.login.succeeded',
  LoginFailed: 'auth.login.failed',
  TokenRefreshed: 'auth.token.refreshed',
  RefreshReuseDetected: 'auth.refresh.reuse_detected',
  SessionRevoked: 'auth.session.revoked',
  PasswordChanged: 'auth.password.changed',
  PasswordReset: 'auth.password.reset',
  PasswordCheckFailed: 'auth.password.check_failed',
  UserApproved: 'user.approved',
  UserDisabled: 'user.disabled',
  UserEnabled: 'user.enabled',
  UserUpdated: 'user.updated',
  MfaEnabled: 'auth.mfa.enabled',
  MfaDisabled: 'auth.mfa.disabled',
  RecoveryCodesRegenerated: 'auth.mfa.recovery_codes_regenerated',
  RecoveryCodeUsed: 'auth.mfa.recovery_code_used',
  ApiKeyCreated: 'auth.api_key.created',
  ApiKeyDeleted: 'auth.api_key.deleted',
  ApiKeyUsed: 'auth.api_key.used',
} as const;

export type DomainEventName = (typeof DomainEvent)[keyof typeof DomainEvent];

abstract class BaseEvent {
  readonly at = new Date();
  abstract readonly name: DomainEventName;
}

export class UserRegisteredEvent extends BaseEvent {
  readonly name = DomainEvent.UserRegistered;
  constructor(
    readonly userId: string,
    readonly email: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

export class LoginSucceededEvent extends BaseEvent {
  readonly name = DomainEvent.LoginSucceeded;
  constructor(
    readonly userId: string,
    readonly sessionId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

export type LoginFailureReason =
  | 'invalid_credentials'
  | 'pending_approval'
  | 'disabled'
  | 'email_not_verified'
  | 'rate_limited'
  | 'locked'
  | 'invalid_mfa_code';

export class LoginFailedEvent extends BaseEvent {
  readonly name = DomainEvent.LoginFailed;
  constructor(
    /** Null when no account matches: the attempt is still recorded. */
    readonly userId: string | null,
    readonly reason: LoginFailureReason,
    readonly client: ClientInfo,
    /**
     * When no account matches: a keyed hash of the name tried (never the name itself), so that
     * credential stuffing against made-up or guessed names still shows in the audit trail.
     */
    readonly identifierHash?: string,
  ) {
    super();
  }
}

export class TokenRefreshedEvent extends BaseEvent {
  readonly name = DomainEvent.TokenRefreshed;
  constructor(
    readonly userId: string,
    readonly sessionId: string,
    readonly client: ClientInfo,
    /** Its audit row went into the refresh's own statement (the rotation's), so the listener skips it. */
    readonly auditRowWritten = false,
  ) {
    super();
  }
}

export class RefreshReuseDetectedEvent extends BaseEvent {
  readonly name = DomainEvent.RefreshReuseDetected;
  constructor(
    readonly userId: string,
    readonly sessionId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

export type SessionRevokeReason =
  'logout' | 'logout_all' | 'deleted' | 'reuse' | 'password_changed' | 'password_reset' | 'disabled' | 'session_limit';

export class SessionRevokedEvent extends BaseEvent {
  readonly name = DomainEvent.SessionRevoked;
  constructor(
    readonly userId: string,
    readonly sessionIds: string[],
    readonly reason: SessionRevokeReason,
    /** True when the user has no live session left. */
    readonly lastSessionEnded: boolean,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

export class PasswordChangedEvent extends BaseEvent {
  readonly name = DomainEvent.PasswordChanged;
  constructor(
    readonly userId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

export class PasswordResetEvent extends BaseEvent {
  readonly name = DomainEvent.PasswordReset;
  constructor(
    readonly userId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

/** A wrong current password at password change ('invalid_credentials'), or one refused unchecked ('locked'). */
export class PasswordCheckFailedEvent extends BaseEvent {
  readonly name = DomainEvent.PasswordCheckFailed;
  constructor(
    readonly userId: string,
    readonly reason: 'invalid_credentials' | 'invalid_mfa_code' | 'locked',
    readonly client: ClientInfo,
  ) {
    super();
  }
}

export class UserUpdatedEvent extends BaseEvent {
  readonly name = DomainEvent.UserUpdated;
  constructor(readonly userId: string) {
    super();
  }
}

/** An admin let a `pending_approval` account in (the "account approved" mail follows). */
export class UserApprovedEvent extends BaseEvent {
  readonly name = DomainEvent.UserApproved;
  constructor(
    readonly userId: string,
    /** The admin who acted. */
    readonly actorId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

/** An admin disabled an account; its sessions were ended in the same request. */
export class UserDisabledEvent extends BaseEvent {
  readonly name = DomainEvent.UserDisabled;
  constructor(
    readonly userId: string,
    readonly actorId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

export class UserEnabledEvent extends BaseEvent {
  readonly name = DomainEvent.UserEnabled;
  constructor(
    readonly userId: string,
    readonly actorId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

/** A user confirmed a TOTP factor: sign-in asks for it from now on. */
export class MfaEnabledEvent extends BaseEvent {
  readonly name = DomainEvent.MfaEnabled;
  constructor(
    readonly userId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

/** MFA turned off: by the user ('user', password and code) or by an admin ('admin_reset', actorId). */
export class MfaDisabledEvent extends BaseEvent {
  readonly name = DomainEvent.MfaDisabled;
  constructor(
    readonly userId: string,
    readonly reason: 'user' | 'admin_reset',
    readonly client: ClientInfo,
    readonly actorId?: string,
  ) {
    super();
  }
}

export class RecoveryCodesRegeneratedEvent extends BaseEvent {
  readonly name = DomainEvent.RecoveryCodesRegenerated;
  constructor(
    readonly userId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

/** A recovery code completed a sign-in (it no longer works). */
export class RecoveryCodeUsedEvent extends BaseEvent {
  readonly name = DomainEvent.RecoveryCodeUsed;
  constructor(
    readonly userId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

export class ApiKeyCreatedEvent extends BaseEvent {
  readonly name = DomainEvent.ApiKeyCreated;
  constructor(
    readonly userId: string,
    readonly apiKeyId: string,
    readonly client: ClientInfo,
  ) {
    super();
  }
}

/** `actorId`: the admin who deleted another user's key; absent when the owner did. */
export class ApiKeyDeletedEvent extends BaseEvent {
  readonly name = DomainEvent.ApiKeyDeleted;
  constructor(
    readonly userId: string,
    readonly apiKeyId: string,
    readonly client: ClientInfo,
    readonly actorId?: string,
  ) {
    super();
  }
}

/** A request was authenticated by the key (announced at most once a minute per key and instance). */
export class ApiKeyUsedEvent extends BaseEvent {
  readonly name = DomainEvent.ApiKeyUsed;
  constructor(
    readonly userId: string,
    readonly apiKeyId: string,
  ) {
    super();
  }
}
