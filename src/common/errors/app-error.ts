// Domain errors: services throw these with a stable code; only ProblemDetailsFilter maps them to HTTP.

export enum ErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  MalformedRequest = 'MALFORMED_REQUEST',
  InvalidCredentials = 'INVALID_CREDENTIALS',
  InvalidMfaCode = 'INVALID_MFA_CODE',
  Unauthorized = 'UNAUTHORIZED',
  InvalidRefreshToken = 'INVALID_REFRESH_TOKEN',
  InvalidToken = 'INVALID_TOKEN',
  AccountPendingApproval = 'ACCOUNT_PENDING_APPROVAL',
  AccountDisabled = 'ACCOUNT_DISABLED',
  EmailNotVerified = 'EMAIL_NOT_VERIFIED',
  Forbidden = 'FORBIDDEN',
  NotFound = 'NOT_FOUND',
  MethodNotAllowed = 'METHOD_NOT_ALLOWED',
  EmailTaken = 'EMAIL_TAKEN',
  UsernameTaken = 'USERNAME_TAKEN',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  RateLimited = 'RATE_LIMITED',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  InternalError = 'INTERNAL_ERROR',
}

export interface FieldError {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  errors?: FieldError[];
  /** Seconds, sent as Retry-After for RATE_LIMITED and SERVICE_UNAVAILABLE. */
  retryAfter?: number;
  /** UNAUTHORIZED: the credential that was refused, so the challenge can name its scheme; default a bearer token. */
  credential?: 'bearer' | 'api_key';
  cause?: unknown;
}

export class AppError extends Error {
  readonly errors?: FieldError[];
  readonly retryAfter?: number;
  readonly credential?: 'bearer' | 'api_key';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.errors = options.errors;
    this.retryAfter = options.retryAfter;
    this.credential = options.credential;
  }
}
