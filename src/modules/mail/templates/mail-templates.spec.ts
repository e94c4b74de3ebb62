import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailTemplateName } from '../mail-outbox.entity';
import { MAIL_TEMPLATES, renderMail } from './mail-templates';

const APP_URL = 'https://app.example.com';

describe('mail templates', () => {
  it('renders every template with a subject, a text part and an HTML part', () => {
    for (const name of Object.keys(MAIL_TEMPLATES) as MailTemplateName[]) {
      const mail = renderMail(name, { appUrl: APP_URL, data: { at: '2026-01-02T03:04:05Z' }, secret: 'tok' });
      assert.ok(mail.subject.length > 0, name);
      assert.ok(mail.text.length > 0, name);
      assert.match(mail.html, /^<!doctype html>/, name);
    }
  });

  it('puts the contract links in both parts', () => {
    const reset = renderMail('reset-password', { appUrl: APP_URL, data: {}, secret: 'abc_DEF-123' });
    const verify = renderMail('verify-email', { appUrl: APP_URL, data: {}, secret: 'abc_DEF-123' });
    for (const part of [reset.text, reset.html])
      assert.ok(part.includes(`${APP_URL}/reset-password?token=abc_DEF-123`));
    for (const part of [verify.text, verify.html])
      assert.ok(part.includes(`${APP_URL}/verify-email?token=abc_DEF-123`));
  });

  it('states a reset link lifetime of a few seconds in seconds, not as a minute', () => {
    const text = (ttlSeconds: string) =>
      renderMail('reset-password', { appUrl: APP_URL, data: { ttlSeconds }, secret: 'tok' }).text;
    assert.match(text('3'), /for 3 seconds;/);
    assert.match(text('1'), /for 1 second;/);
    assert.match(text('60'), /for 1 minute;/);
    assert.match(text('1800'), /for 30 minutes;/);
  });

  it('refuses to render a link mail without its token', () => {
    assert.throws(() => renderMail('reset-password', { appUrl: APP_URL, data: {}, secret: null }));
  });

  it('escapes client-supplied values in HTML and keeps them on one line in text', () => {
    const mail = renderMail('new-device', {
      appUrl: APP_URL,
      data: { at: null, ip: '203.0.113.9', userAgent: '<img src=x onerror=alert(1)>\r\nBcc: victim@example.com' },
      secret: null,
    });
    assert.ok(!mail.html.includes('<img'));
    assert.ok(mail.html.includes('&#60;img'));
    assert.ok(!/\nBcc:/.test(mail.text));
    assert.ok(mail.text.includes('203.0.113.9'));
  });
});
