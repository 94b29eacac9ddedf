import { type Logger, pino } from 'pino';
import { requestContext } from './request-context.ts';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line. pino's redaction runs on serialized objects,
 * so anything logged under these keys (at any of these depths) is replaced.
 */
const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'authorization',
  'cookie',
  'client_secret',
  'refresh_token',
  'access_token',
  'id_token',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.cookie',
  '*.client_secret',
  '*.refresh_token',
  '*.access_token',
  '*.id_token',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
];

/**
 * pino's `stdTimeFunctions.isoTime`, formatted once per millisecond: a process logging a line per
 * request (the gateway's access log) otherwise builds a Date and its ISO string for every line.
 */
let lastMs = Number.NaN;
let lastTime = '';
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read lines back. */
  destination?: NodeJS.WritableStream;
  /**
   * false: stdout goes through pino's asynchronous destination (writes leave the calling code at
   * once and are coalesced while one is in flight; pino flushes what is left on exit). For a
   * process that writes a line per request, such as the gateway's access log. Default true: each
   * line is written before the call returns. Ignored with `destination`.
   */
  sync?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? process.env.GATEHOUSE_LOG_LEVEL ?? 'info',
    base: { name: options.name ?? 'gatehouse' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    // Every line written while serving a request names it (request-context.ts).
    mixin: () => {
      const context = requestContext.getStore();
      return context?.requestId ? { requestId: context.requestId } : {};
    },
  };
  if (options.destination) return pino(opts, options.destination as pino.DestinationStream);
  if (options.sync === false) return pino(opts, pino.destination({ dest: 1, sync: false }));
  return pino(opts);
}

/** A logger that discards everything, for tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
