// The data every multi-factor security mail carries (mfa-enabled, mfa-disabled, recovery-code-used):
// when it happened, and the client's address and browser.
import type { ClientInfo } from '../../common/events/domain-events';

export function noticeData(client: ClientInfo, extra: Record<string, string> = {}): Record<string, string | null> {
  return { at: new Date().toISOString(), ip: client.ip, userAgent: client.userAgent, ...extra };
}
