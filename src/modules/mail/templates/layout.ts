// The shared shape of every Latch mail: a heading, short paragraphs, an optional button link, and a
// footer; rendered once as HTML and once as plain text so both parts always say the same thing.
// Values that come from outside (user agents, addresses) are escaped for HTML and stripped of
// control characters for text.

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export interface MailContent {
  subject: string;
  heading: string;
  paragraphs: string[];
  action?: { label: string; url: string };
  /** Shown after the action, e.g. how long a link works. */
  after?: string[];
  /** Label/value lines such as time and client address. */
  details?: [string, string][];
}

const FOOTER = 'This message was sent by Latch, the sign-in service of your account. Replies are not read.';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One line of text: control characters (line breaks included) become spaces. */
export function plain(value: string | null | undefined, fallback = 'unknown'): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = (value ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
  return cleaned.length > 0 ? cleaned.slice(0, 300) : fallback;
}

export function render(content: MailContent): RenderedMail {
  const details = content.details ?? [];
  const text = [
    content.heading,
    '',
    ...content.paragraphs.flatMap((p) => [p, '']),
    ...(content.action ? [`${content.action.label}:`, content.action.url, ''] : []),
    ...details.map(([label, value]) => `${label}: ${value}`),
    ...(details.length ? [''] : []),
    ...(content.after ?? []).flatMap((p) => [p, '']),
    '--',
    FOOTER,
    '',
  ].join('\n');

  const paragraph = (p: string) => `<p style="margin:0 0 16px">${escapeHtml(p)}</p>`;
  const html = [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>${escapeHtml(content.subject)}</title></head>`,
    '<body style="margin:0;padding:24px;background:#f4f4f5;font-family:Helvetica,Arial,sans-serif;color:#18181b">',
    '<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px">',
    `<h1 style="font-size:20px;margin:0 0 16px">${escapeHtml(content.heading)}</h1>`,
    ...content.paragraphs.map(paragraph),
    ...(content.action
      ? [
          `<p style="margin:24px 0"><a href="${escapeHtml(content.action.url)}" style="background:#2563eb;color:#ffffff;` +
            `padding:12px 20px;border-radius:6px;text-decoration:none;display:inline-block">` +
            `${escapeHtml(content.action.label)}</a></p>`,
          `<p style="margin:0 0 16px;font-size:13px;color:#52525b">If the button does not work, open this link:<br>` +
            `<a href="${escapeHtml(content.action.url)}">${escapeHtml(content.action.url)}</a></p>`,
        ]
      : []),
    ...(details.length
      ? [
          '<table style="font-size:14px;margin:0 0 16px;border-collapse:collapse">',
          ...details.map(
            ([label, value]) =>
              `<tr><td style="padding:2px 12px 2px 0;color:#52525b">${escapeHtml(label)}</td>` +
              `<td style="padding:2px 0">${escapeHtml(value)}</td></tr>`,
          ),
          '</table>',
        ]
      : []),
    ...(content.after ?? []).map(paragraph),
    `<p style="margin:24px 0 0;font-size:12px;color:#71717a">${escapeHtml(FOOTER)}</p>`,
    '</div></body></html>',
  ].join('\n');

  return { subject: content.subject, text, html };
}
