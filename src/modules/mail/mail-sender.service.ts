// Delivers one rendered message through @nestjs-modules/mailer: over SMTP when SMTP_URL is set,
// otherwise as an .eml file under DATA_DIR/mail (named after the outbox row, so a retry of the
// same message rewrites the same file rather than adding a second one).
import { MailerOptions, MailerService } from '@nestjs-modules/mailer';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LatchConfig, MailConfig } from '../../config/configuration';
import { SecretBox } from '../crypto/secret-box.service';
import type { ClaimedMail } from './mail-outbox.repository';
import { outboxSecretContext } from './outbox-secret';
import { renderMail } from './templates/mail-templates';

/** Bounds one SMTP delivery, so a stalled server cannot hold a message past its claim. */
export const SEND_TIMEOUT_MS = 10_000;

export function mailerOptions(mail: MailConfig): MailerOptions {
  const transport: MailerOptions['transport'] = mail.smtpUrl
    ? { url: mail.smtpUrl, connectionTimeout: 5_000, greetingTimeout: 5_000, socketTimeout: SEND_TIMEOUT_MS }
    : { streamTransport: true, buffer: true, newline: 'unix' };
  return { transport };
}

@Injectable()
export class MailSender {
  private readonly logger = new Logger('Mail');
  private readonly mail: MailConfig;
  private readonly appUrl: string;
  private readonly messageIdHost: string;

  constructor(
    private readonly mailer: MailerService,
    private readonly box: SecretBox,
    config: ConfigService<LatchConfig, true>,
  ) {
    this.mail = config.get('mail', { infer: true });
    this.appUrl = config.get('app', { infer: true }).appUrl;
    this.messageIdHost = new URL(this.appUrl).hostname || 'latch';
  }

  get writesFiles(): boolean {
    return !this.mail.smtpUrl;
  }

  async send(message: ClaimedMail): Promise<void> {
    const rendered = renderMail(message.template, {
      appUrl: this.appUrl,
      data: message.data,
      // Opened only here, for the message being rendered; a value that does not open fails the attempt.
      secret: message.secret === null ? null : this.box.open(message.secret, outboxSecretContext(message)),
    });
    const info: { message?: Buffer } = await this.mailer.sendMail({
      from: this.mail.from,
      to: message.recipient,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      // The same Message-ID on every attempt lets a receiving system drop a duplicate.
      messageId: `<${message.id}@${this.messageIdHost}>`,
      headers: { 'X-Latch-Template': message.template },
      timeout: SEND_TIMEOUT_MS,
    });
    if (this.writesFiles) await this.writeFile(message, info.message);
  }

  private async writeFile(message: ClaimedMail, raw: Buffer | undefined): Promise<void> {
    if (!raw) throw new Error('the file transport returned no message');
    const dir = resolve(this.mail.outputDir);
    await mkdir(dir, { recursive: true });
    const stamp = message.createdAt.toISOString().replace(/[:.]/g, '-');
    const path = join(dir, `${stamp}-${message.template}-${message.id}.eml`);
    await writeFile(`${path}.tmp`, raw);
    await rename(`${path}.tmp`, path);
    this.logger.log(`No SMTP_URL: ${message.template} mail for ${message.recipient} written to ${path}`);
  }
}
