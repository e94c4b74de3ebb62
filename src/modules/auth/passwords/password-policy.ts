// Password rules (docs/security.md): PASSWORD_MIN_LENGTH (8 unless configured higher) to 256 code points after
// NFKC, refused when on the common-password list. This file is the one place that decides.
import { createRequire } from 'node:module';
import { AppError, ErrorCode, FieldError } from '../../../common/errors/app-error';

/** The floor and default of the PASSWORD_MIN_LENGTH setting (auth.passwordMinLength). */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * The zxcvbn-ts list (about 49,000 of the most common leaked passwords), NFKC-normalised and
 * lower-cased, as one sorted string table: the entries concatenated in code-unit order, with their
 * start offsets. Exact like a Set (a binary search compares whole entries), at about a tenth of a
 * Set's heap: one flat string and one Uint32Array instead of 49,000 string objects and a hash table.
 */
class SortedStringTable {
  private readonly text: string;
  private readonly starts: Uint32Array;

  constructor(entries: Iterable<string>) {
    const sorted = [...new Set(entries)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.starts = new Uint32Array(sorted.length + 1);
    let offset = 0;
    sorted.forEach((entry, index) => {
      this.starts[index] = offset;
      offset += entry.length;
    });
    this.starts[sorted.length] = offset;
    this.text = sorted.join('');
  }

  get size(): number {
    return this.starts.length - 1;
  }

  has(value: string): boolean {
    let low = 0;
    let high = this.size - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const entry = this.text.slice(this.starts[middle], this.starts[middle + 1]);
      if (entry === value) return true;
      if (entry < value) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

/**
 * Loads the list module alone (not the package index, which also decompresses the diceware list and
 * keyboard graphs Latch never uses), builds the table, and drops the modules it loaded from the
 * require cache so that the decompressed array and the module's source can be collected.
 */
function loadCommonPasswords(): SortedStringTable {
  const load = createRequire(__filename);
  const path = load.resolve('@zxcvbn-ts/language-common/dist/passwords.json.cjs');
  const cachedBefore = new Set(Object.keys(load.cache));
  try {
    const list = load(path) as string[];
    return new SortedStringTable(list.map((entry) => entry.normalize('NFKC').toLowerCase()));
  } finally {
    // The list module and what it loaded (the decompressor, which points back at the list module
    // as its first parent and so would keep the list and its 370 KB source literal alive).
    for (const key of Object.keys(load.cache)) if (!cachedBefore.has(key)) delete load.cache[key];
  }
}

const COMMON_PASSWORDS = loadCommonPasswords();

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
