// Delivers one rendered message through nodemailer: over SMTP when SMTP_URL is set, otherwise as
// an .eml file under DATA_DIR/mail (named after the outbox row, so a retry of the same message
// rewrites the same file rather than adding a second one). nodemailer is loaded with the first
// message, not at start: a process that sends no mail does not carry it (docs/operations.md#memory).
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type StreamTransport from 'nodemailer/lib/stream-transport';
import type { LatchConfig, MailConfig } from '../../config/configuration';
import { SecretBox } from '../crypto/secret-box.service';
import type { ClaimedMail } from './mail-outbox.repository';
import { outboxSecretContext } from './outbox-secret';
import { renderMail } from './templates/mail-templates';

/** Bounds one SMTP delivery, so a stalled server cannot hold a message past its claim. */
export const SEND_TIMEOUT_MS = 10_000;

export function transportOptions(mail: MailConfig): SMTPTransport.Options | StreamTransport.Options {
  return mail.smtpUrl
    ? { url: mail.smtpUrl, connectionTimeout: 5_000, greetingTimeout: 5_000, socketTimeout: SEND_TIMEOUT_MS }
    : { streamTransport: true, buffer: true, newline: 'unix' };
}

/** Rejects when the promise has not settled within ms. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Send mail timed out after ${ms}ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

@Injectable()
export class MailSender implements OnModuleDestroy {
  private transporter: Transporter | undefined;
  private readonly logger = new Logger('Mail');
  private readonly mail: MailConfig;
  private readonly appUrl: string;
  private readonly messageIdHost: string;

  constructor(
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
    const info: { message?: Buffer } = await withTimeout(
      this.transport().sendMail({
        from: this.mail.from,
        to: message.recipient,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        // The same Message-ID on every attempt lets a receiving system drop a duplicate.
        messageId: `<${message.id}@${this.messageIdHost}>`,
        headers: { 'X-Latch-Template': message.template },
      }),
      SEND_TIMEOUT_MS,
    );
    if (this.writesFiles) await this.writeFile(message, info.message);
  }

  onModuleDestroy(): void {
    this.transporter?.close();
  }

  private transport(): Transporter {
    if (!this.transporter) {
      const nodemailer = require('nodemailer') as typeof import('nodemailer');
      this.transporter = nodemailer.createTransport(transportOptions(this.mail));
    }
    return this.transporter;
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
