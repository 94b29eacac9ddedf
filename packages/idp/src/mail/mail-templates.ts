import { escapeHtml } from '@gatehouse/core';
import type { MailConfig } from './mail-config.ts';
import type { OutgoingMail } from './mailer.ts';

/**
 * The identity provider's mails, each as plain text and HTML. The HTML uses inline styles only (mail
 * clients drop style blocks and CSS variables); `productName` and `accentColor` theme it like the
 * hosted pages' `--gh-accent`.
 */
type Theme = Pick<MailConfig, 'productName' | 'accentColor'>;

function htmlMail(theme: Theme, title: string, paragraphs: string[], link?: { url: string; label: string }) {
  const button = link
    ? `<p><a href="${escapeHtml(link.url)}" style="display:inline-block;padding:12px 20px;background:${escapeHtml(theme.accentColor)};color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">${escapeHtml(link.label)}</a></p>
<p style="color:#4a5560;font-size:13px">Or paste this address into your browser:<br>${escapeHtml(link.url)}</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="margin:0;padding:24px;background:#f5f6f8;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1b1f24">
<div style="max-width:32rem;margin:0 auto;padding:24px;background:#ffffff;border-radius:8px">
<h1 style="font-size:20px;margin:0 0 16px">${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${button}
<p style="color:#4a5560;font-size:13px">${escapeHtml(theme.productName)}</p>
</div></body></html>`;
}

function textMail(theme: Theme, paragraphs: string[], url?: string): string {
  return [...paragraphs, ...(url ? [url] : []), `-- ${theme.productName}`].join('\n\n') + '\n';
}

function minutes(seconds: number): string {
  return seconds >= 7200 ? `${Math.round(seconds / 3600)} hours` : `${Math.round(seconds / 60)} minutes`;
}

export function verificationMail(
  theme: Theme,
  input: { to: string; username: string; url: string; ttlSeconds: number },
): OutgoingMail {
  const subject = `Confirm your email address for ${theme.productName}`;
  const lines = [
    `Hello ${input.username},`,
    `please confirm that ${input.to} is your email address by opening this link. It works once, for ${minutes(input.ttlSeconds)}.`,
    'If you did not ask for this, ignore this mail: nothing changes.',
  ];
  return {
    to: input.to,
    subject,
    text: textMail(theme, lines, input.url),
    html: htmlMail(theme, subject, lines, { url: input.url, label: 'Confirm email address' }),
  };
}

export function passwordResetMail(
  theme: Theme,
  input: { to: string; username: string; url: string; ttlSeconds: number },
): OutgoingMail {
  const subject = `Reset your ${theme.productName} password`;
  const lines = [
    `Hello ${input.username},`,
    `someone (hopefully you) asked to reset the password of your account. Open this link to choose a new one. It works once, for ${minutes(input.ttlSeconds)}.`,
    'If you did not ask for this, ignore this mail: your password stays as it is.',
  ];
  return {
    to: input.to,
    subject,
    text: textMail(theme, lines, input.url),
    html: htmlMail(theme, subject, lines, { url: input.url, label: 'Choose a new password' }),
  };
}

export function passwordChangedMail(theme: Theme, input: { to: string; username: string }): OutgoingMail {
  const subject = `Your ${theme.productName} password was changed`;
  const lines = [
    `Hello ${input.username},`,
    'the password of your account was just changed, and every session signed in with the old one was ended.',
    'If this was not you, reset your password now and tell your administrator.',
  ];
  return { to: input.to, subject, text: textMail(theme, lines), html: htmlMail(theme, subject, lines) };
}
