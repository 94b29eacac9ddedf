import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';

/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1:0 that keeps every message it
 * receives, for the tests of the mails the identity provider sends. `next(to)` waits for the next
 * message to an address; `textOf` reads the plain-text part of a raw RFC 5322 message.
 */
export interface ReceivedMail {
  to: string[];
  raw: string;
}

interface SmtpServerLike {
  server: Server;
  listen(port: number, host: string, cb: () => void): void;
  close(cb: () => void): void;
}
type SmtpServerClass = new (options: Record<string, unknown>) => SmtpServerLike;

const require = createRequire(import.meta.url);
const { SMTPServer } = require('smtp-server') as { SMTPServer: SmtpServerClass };

export interface TestSmtp {
  port: number;
  received: ReceivedMail[];
  /** The next message (not yet taken) to `to`; fails after `timeoutMs`. */
  next(to: string, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export async function startSmtp(): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  let wake: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(
      stream: NodeJS.ReadableStream,
      session: { envelope: { rcptTo: { address: string }[] } },
      callback: (err?: Error) => void,
    ) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        const waiting = wake;
        wake = [];
        for (const w of waiting) w();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    async next(to, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mail = received.find((m) => !taken.has(m) && m.to.includes(to.toLowerCase()));
        if (mail) {
          taken.add(mail);
          return mail;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A header of the message's top-level header block (unfolded), or undefined. */
export function headerOf(raw: string, name: string): string | undefined {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

/**
 * The text/plain part of a raw message, its transfer encoding undone (RFC 2045: quoted-printable
 * soft line breaks and =XX octets, or base64).
 */
export function textOf(raw: string): string {
  const match = /Content-Type: text\/plain[^\r\n]*\r\n((?:[^\r\n]+\r\n)*)\r\n([\s\S]*?)(?:\r\n--|$)/i.exec(
    raw,
  );
  if (!match) throw new Error('no text/plain part');
  const headers = match[1]!;
  const body = match[2]!;
  const encoding = /Content-Transfer-Encoding:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim().toLowerCase();
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/** The one link to `path` in the mail's text. */
export function linkIn(mail: ReceivedMail, path: string): URL {
  const links = (textOf(mail.raw).match(/https?:\/\/\S+/g) ?? []).filter((u) => new URL(u).pathname === path);
  if (links.length !== 1) throw new Error(`expected one ${path} link, found ${links.length}`);
  return new URL(links[0]!);
}
