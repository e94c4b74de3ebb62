// The mail outbox: the mail_outbox table, its dispatcher and the SMTP sender. It depends on no
// feature module, so any module may import it: auth and the notice listeners queue mail through
// MailService; tokens (cleanup), health and observability ask MailOutbox, never the table.
import { Module } from '@nestjs/common';
import { CryptoModule } from '../crypto/crypto.module';
import { MailDispatcher } from './mail-dispatcher.service';
import { MailOutboxRepository } from './mail-outbox.repository';
import { MailOutbox } from './mail-outbox.service';
import { MailSender } from './mail-sender.service';
import { MailService } from './mail.service';

@Module({
  imports: [CryptoModule],
  providers: [MailOutboxRepository, MailSender, MailDispatcher, MailService, MailOutbox],
  exports: [MailService, MailOutbox],
})
export class MailOutboxModule {}
