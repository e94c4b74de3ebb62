// How an outbox row's token is bound when sealed (see src/modules/crypto/secret-box.service.ts): a
// sealed token opens only in its own row, for the recipient and template it was queued for, so a
// value copied to another row, or a row whose recipient was rewritten, cannot carry a working link.
import type { MailTemplateName } from './mail-outbox.entity';

export function outboxSecretContext(mail: { id: string; template: MailTemplateName; recipient: string }): string {
  return `mail_outbox.secret\0${mail.id}\0${mail.template}\0${mail.recipient}`;
}
