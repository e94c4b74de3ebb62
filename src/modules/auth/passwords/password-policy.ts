// DESIGN.md password rules: 8 to 256 code points after NFKC, refused when on the common-password list.
import { dictionary } from '@zxcvbn-ts/language-common';
import { AppError, ErrorCode, FieldError } from '../../../common/errors/app-error';

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

/** Returns why the password is refused, or null when it may be used. */
export function checkPassword(password: string, field = 'password'): FieldError | null {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return { field, message: `must be at least ${PASSWORD_MIN_LENGTH} characters long` };
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
export function assertPasswordAllowed(password: string, field = 'password'): void {
  const problem = checkPassword(password, field);
  if (problem) {
    throw new AppError(ErrorCode.ValidationFailed, 'The password does not meet the rules.', { errors: [problem] });
  }
}
