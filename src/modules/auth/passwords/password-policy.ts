// Password rules (docs/security.md): PASSWORD_MIN_LENGTH (8 unless configured higher) to 256 code points after
// NFKC, refused when on the common-password list. This file is the one place that decides.
import { dictionary } from '@zxcvbn-ts/language-common';
import { AppError, ErrorCode, FieldError } from '../../../common/errors/app-error';

/** The floor and default of the PASSWORD_MIN_LENGTH setting (auth.passwordMinLength). */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

// The zxcvbn-ts list: about 49,000 of the most common leaked passwords, most frequent first.
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  (dictionary['passwords-common'] as string[]).map((entry) => entry.normalize('NFKC').toLowerCase()),
);

export function commonPasswordCount(): number {
  return COMMON_PASSWORDS.size;
}

export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * Returns why the password is refused, or null when it may be used. minLength is the configured
 * auth.passwordMinLength, so that the message states the minimum actually in force.
 */
export function checkPassword(password: string, minLength: number, field = 'password'): FieldError | null {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < minLength) {
    return { field, message: `must be at least ${minLength} characters long` };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return { field, message: `must be at most ${PASSWORD_MAX_LENGTH} characters long` };
  }
  if (COMMON_PASSWORDS.has(normalized.toLowerCase())) {
    return { field, message: 'is too common; choose a password that is not on lists of leaked passwords' };
  }
  return null;
}

/** Throws VALIDATION_FAILED naming `field` when the password may not be used. */
export function assertPasswordAllowed(password: string, minLength: number, field = 'password'): void {
  const problem = checkPassword(password, minLength, field);
  if (problem) {
    throw new AppError(ErrorCode.ValidationFailed, 'The password does not meet the rules.', { errors: [problem] });
  }
}
