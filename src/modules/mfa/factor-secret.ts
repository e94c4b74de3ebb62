// How a TOTP factor's secret is bound when sealed (see src/modules/crypto/secret-box.service.ts): to
// its user's row, so a sealed value copied to another user does not open.

export function factorSecretContext(userId: string): string {
  return `mfa_factors.secret:${userId}`;
}
