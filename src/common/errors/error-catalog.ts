// HTTP status and title for each error code: the one table the exception filter reads.
import { ErrorCode } from './app-error';

export interface ErrorDescription {
  status: number;
  title: string;
}

export const ERROR_CATALOG: Record<ErrorCode, ErrorDescription> = {
  [ErrorCode.ValidationFailed]: { status: 400, title: 'Validation failed' },
  [ErrorCode.MalformedRequest]: { status: 400, title: 'Malformed request' },
  [ErrorCode.InvalidToken]: { status: 400, title: 'Invalid or expired token' },
  [ErrorCode.InvalidCredentials]: { status: 401, title: 'Invalid credentials' },
  [ErrorCode.InvalidMfaCode]: { status: 401, title: 'Invalid second-factor code' },
  [ErrorCode.Unauthorized]: { status: 401, title: 'Unauthorized' },
  [ErrorCode.InvalidRefreshToken]: { status: 401, title: 'Invalid refresh token' },
  [ErrorCode.AccountPendingApproval]: { status: 403, title: 'Account pending approval' },
  [ErrorCode.AccountDisabled]: { status: 403, title: 'Account disabled' },
  [ErrorCode.EmailNotVerified]: { status: 403, title: 'E-mail address not verified' },
  [ErrorCode.Forbidden]: { status: 403, title: 'Forbidden' },
  [ErrorCode.NotFound]: { status: 404, title: 'Not found' },
  [ErrorCode.MethodNotAllowed]: { status: 405, title: 'Method not allowed' },
  [ErrorCode.EmailTaken]: { status: 409, title: 'E-mail address already registered' },
  [ErrorCode.UsernameTaken]: { status: 409, title: 'Username already taken' },
  [ErrorCode.PayloadTooLarge]: { status: 413, title: 'Payload too large' },
  [ErrorCode.UnsupportedMediaType]: { status: 415, title: 'Unsupported media type' },
  [ErrorCode.RateLimited]: { status: 429, title: 'Too many requests' },
  [ErrorCode.ServiceUnavailable]: { status: 503, title: 'Service unavailable' },
  [ErrorCode.InternalError]: { status: 500, title: 'Internal server error' },
};

export function problemType(code: ErrorCode): string {
  return `urn:latch:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}
