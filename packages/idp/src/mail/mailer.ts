import type { Logger } from '@gatehouse/core';
import nodemailer from 'nodemailer';
import type { MailConfig } from './mail-config.ts';

/**
 * Sends the identity provider's mail through nodemailer: to the SMTP server of `idp.mail.smtp`, or,
 * in development mode without one, into the development mailbox (kept in memory, newest first, so
 * that a newcomer can open the links from `GET /authentication/dev/mailbox`).
 */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface MailboxEntry extends OutgoingMail {
  at: Date;
}

export interface Mailer {
  /** Whether mail can be sent at all (production without SMTP cannot). */
  readonly enabled: boolean;
  send(mail: OutgoingMail): Promise<void>;
  /** The development mailbox, newest first; undefined when mail goes to SMTP or nowhere. */
  readonly mailbox: readonly MailboxEntry[] | undefined;
  close(): void;
}

const mailboxSize = 50;

export function createMailer(options: {
  config: MailConfig;
  mode: 'development' | 'production';
  logger: Logger;
}): Mailer {
  const { config, mode, logger } = options;
  const smtp = config.smtp;
  if (!smtp) {
    if (mode === 'production') {
      return {
        enabled: false,
        mailbox: undefined,
        async send() {
          throw new Error('idp.mail.smtp is not configured');
        },
        close() {},
      };
    }
    const mailbox: MailboxEntry[] = [];
    return {
      enabled: true,
      mailbox,
      async send(mail) {
        mailbox.unshift({ ...mail, at: new Date() });
        mailbox.length = Math.min(mailbox.length, mailboxSize);
        logger.info({ subject: mail.subject }, 'mail kept in the development mailbox');
      },
      close() {},
    };
  }
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: !smtp.secure && smtp.requireTls,
    ...(smtp.user === undefined ? {} : { auth: { user: smtp.user, pass: smtp.password ?? '' } }),
    connectionTimeout: smtp.timeoutSeconds * 1000,
    greetingTimeout: smtp.timeoutSeconds * 1000,
    socketTimeout: smtp.timeoutSeconds * 1000,
  });
  return {
    enabled: true,
    mailbox: undefined,
    async send(mail) {
      await transport.sendMail({ from: config.from, ...mail });
    },
    close() {
      transport.close();
    },
  };
}
