// A deliberately slow SMTP server for the forgot-password scenario: it accepts every message but
// answers each DATA only after `delayMs`, so a request path that waits for mail shows it at once.
import { SMTPServer } from 'smtp-server';

export interface MailSink {
  url: string;
  received(): number;
  close(): Promise<void>;
}

export async function startMailSink(delayMs: number): Promise<MailSink> {
  let received = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        received += 1;
        setTimeout(() => callback(), delayMs);
      });
    },
  });
  server.on('error', () => undefined);
  const port = await new Promise<number>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    received: () => received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
