// Recovery codes: ten per user, 60 random bits each, written "xxxx-xxxx-xxxx" in base32 (no 0/1/8/9
// to confuse with letters), stored only as a hash bound to the user.
import { createHash, randomBytes } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const CHARACTERS = 12; // 12 × 5 bits = 60 bits
/** Any case, with or without the dashes. */
export const RECOVERY_CODE_PATTERN = /^[a-z2-7]{4}-?[a-z2-7]{4}-?[a-z2-7]{4}$/i;

export function newRecoveryCode(): string {
  const bytes = randomBytes(CHARACTERS);
  let code = '';
  for (let i = 0; i < CHARACTERS; i++) {
    if (i > 0 && i % 4 === 0) code += '-';
    code += ALPHABET[bytes[i]! & 31];
  }
  return code;
}

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
}

/** The stored form: SHA-256 over the user id and the code as typed without dashes, in lower case. */
export function recoveryCodeHash(userId: string, code: string): string {
  const canonical = code.replace(/-/g, '').toLowerCase();
  return createHash('sha256').update(`${userId}:${canonical}`, 'utf8').digest('hex');
}
