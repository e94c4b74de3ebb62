// TOTP (RFC 6238) through the otpauth library: SHA-1, 6 digits, 30-second steps, one step of drift
// either way. Which steps were already used is the repository's business (mfa_factors.last_used_step).
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps of clock drift accepted either way. */
export const TOTP_WINDOW = 1;
const SECRET_BYTES = 20; // 160 bits, as RFC 4226 recommends for HMAC-SHA-1

export const TOTP_CODE_PATTERN = /^[0-9]{6}$/;

function totp(secretBase32: string, issuer = '', label = ''): TOTP {
  return new TOTP({
    issuer,
    label,
    issuerInLabel: issuer !== '',
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** A new random secret, base32 without padding (what authenticator apps take). */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export function totpUri(secretBase32: string, issuer: string, account: string): string {
  return totp(secretBase32, issuer, account).toString();
}

/**
 * The step (floor(unix time / 30)) whose code `code` is, within one step of `now`; null when it
 * matches none. The caller must still make sure the step was not used before.
 */
export function matchingStep(secretBase32: string, code: string, now = Date.now()): number | null {
  if (!TOTP_CODE_PATTERN.test(code)) return null;
  const delta = totp(secretBase32).validate({ token: code, timestamp: now, window: TOTP_WINDOW });
  if (delta === null) return null;
  return Math.floor(now / 1000 / TOTP_PERIOD_SECONDS) + delta;
}
