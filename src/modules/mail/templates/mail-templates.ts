// The mails of docs/mail.md. Each template turns an outbox row into subject, text and HTML.
// Links are built from APP_URL only, never from anything a request carried.
import type { MailData, MailTemplateName } from '../mail-outbox.entity';
import { plain, render, RenderedMail } from './layout';

export interface TemplateInput {
  appUrl: string;
  data: MailData;
  /** The one-time token for the link, for reset-password and verify-email. */
  secret: string | null;
}

export function resetPasswordLink(appUrl: string, token: string): string {
  return `${appUrl}/reset-password?token=${encodeURIComponent(token)}`;
}

export function verifyEmailLink(appUrl: string, token: string): string {
  return `${appUrl}/verify-email?token=${encodeURIComponent(token)}`;
}

function requireSecret(input: TemplateInput, template: MailTemplateName): string {
  if (!input.secret) throw new Error(`${template} needs its token, but the message has none`);
  return input.secret;
}

function when(data: MailData): string {
  const at = data.at ? new Date(data.at) : null;
  return at && !Number.isNaN(at.getTime()) ? at.toUTCString() : 'unknown';
}

function clientDetails(data: MailData): [string, string][] {
  return [
    ['When', when(data)],
    ['Address', plain(data.ip)],
    ['Device', plain(data.userAgent)],
  ];
}

const IF_NOT_YOU =
  'If this was not you, reset your password now and sign out of your other sessions; ' +
  'someone else may know your password.';

/** Lifetimes may be a few seconds (drills, tests): those are not rounded up to "1 minutes". */
export function spelledLifetime(seconds: number): string {
  const unit = (n: number, name: string) => `${n} ${name}${n === 1 ? '' : 's'}`;
  return seconds < 60 ? unit(seconds, 'second') : unit(Math.round(seconds / 60), 'minute');
}

export const MAIL_TEMPLATES: Record<MailTemplateName, (input: TemplateInput) => RenderedMail> = {
  'reset-password': (input) => {
    const lifetime = spelledLifetime(Number(input.data.ttlSeconds ?? 1800));
    return render({
      subject: 'Reset your password',
      heading: 'Reset your password',
      paragraphs: ['Someone asked to reset the password of your account. If it was you, choose a new one here:'],
      action: {
        label: 'Choose a new password',
        url: resetPasswordLink(input.appUrl, requireSecret(input, 'reset-password')),
      },
      after: [
        `The link works once, for ${lifetime}; asking again makes earlier links stop working.`,
        'If you did not ask, ignore this message: your password stays as it is.',
      ],
    });
  },

  'password-changed': (input) =>
    render({
      subject: 'Your password was changed',
      heading: 'Your password was changed',
      paragraphs: [
        input.data.reason === 'reset'
          ? 'The password of your account was reset with a link sent to this address, and every session was signed out.'
          : 'The password of your account was changed, and your other sessions were signed out.',
      ],
      details: clientDetails(input.data),
      after: [IF_NOT_YOU],
    }),

  'verify-email': (input) =>
    render({
      subject: 'Confirm your e-mail address',
      heading: 'Confirm your e-mail address',
      paragraphs: ['Please confirm that this address belongs to your new account:'],
      action: { label: 'Confirm my address', url: verifyEmailLink(input.appUrl, requireSecret(input, 'verify-email')) },
      after: ['If you did not create an account, ignore this message.'],
    }),

  'account-approved': (input) =>
    render({
      subject: 'Your account was approved',
      heading: 'Your account was approved',
      paragraphs: ['An administrator approved your account. You can sign in now.'],
      action: { label: 'Sign in', url: `${input.appUrl}/` },
    }),

  'session-revoked': (input) =>
    render({
      subject: 'We signed out one of your sessions',
      heading: 'We signed out one of your sessions',
      paragraphs: [
        'An old sign-in token of your account was used again after it had been replaced. ' +
          'That usually means a copy of it was taken from one of your devices, so we ended that session to be safe.',
        'The session was signed out; sign in again on that device if it was yours.',
      ],
      details: clientDetails(input.data),
      after: [
        'If you do not recognise this, change your password and review your devices for anything you did not install.',
      ],
    }),

  'new-device': (input) =>
    render({
      subject: 'New sign-in to your account',
      heading: 'New sign-in from a device we have not seen',
      paragraphs: ['Your account was just signed in to from a device or address it has not used before.'],
      details: clientDetails(input.data),
      after: ['If this was you, there is nothing to do.', IF_NOT_YOU],
    }),

  'mfa-enabled': (input) =>
    render({
      subject: 'Two-step sign-in is on',
      heading: 'Two-step sign-in is on',
      paragraphs: [
        'Signing in to your account now needs a code from your authenticator app after your password.',
        'Keep your recovery codes somewhere safe: each one signs you in once if you lose the device.',
      ],
      details: clientDetails(input.data),
      after: [IF_NOT_YOU],
    }),

  'mfa-disabled': (input) =>
    render({
      subject: 'Two-step sign-in is off',
      heading: 'Two-step sign-in is off',
      paragraphs: [
        input.data.reason === 'admin_reset'
          ? 'An administrator turned off two-step sign-in for your account (for example after a lost device). ' +
            'Your password alone signs you in now; turn it on again from your account.'
          : 'Two-step sign-in was turned off for your account. Your password alone signs you in now.',
      ],
      details: clientDetails(input.data),
      after: [IF_NOT_YOU],
    }),

  'recovery-code-used': (input) => {
    const left = Number(input.data.remaining ?? 0);
    return render({
      subject: 'A recovery code was used to sign in',
      heading: 'A recovery code was used to sign in',
      paragraphs: [
        'One of your recovery codes was just used to sign in to your account; it will not work again.',
        left === 0
          ? 'You have no recovery codes left: make new ones from your account now.'
          : `You have ${left} recovery code${left === 1 ? '' : 's'} left.`,
      ],
      details: clientDetails(input.data),
      after: [IF_NOT_YOU],
    });
  },
};

export function renderMail(template: MailTemplateName, input: TemplateInput): RenderedMail {
  const build = MAIL_TEMPLATES[template];
  if (!build) throw new Error(`unknown mail template "${template}"`);
  return build(input);
}
