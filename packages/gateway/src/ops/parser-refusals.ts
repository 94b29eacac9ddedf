import { type Server, STATUS_CODES } from 'node:http';
import type { Logger } from '@gatehouse/core';
import { gatewayErrors } from '../errors.ts';

/**
 * Requests Node's parser refuses (headers over 16 KiB, malformed syntax, too slow) never reach the
 * request handler: answer them with a JSON error too. The socket is half-closed and drained rather
 * than destroyed, so the client reads the answer instead of a connection reset.
 */
export function answerParserRefusals(server: Server, logger: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const code =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? 'GW_HEADERS_TOO_LARGE'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'GW_REQUEST_TIMEOUT'
          : 'GW_BAD_REQUEST';
    const { status, message } = gatewayErrors.catalog[code];
    const body = JSON.stringify({ error: code, message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
    );
    socket.resume();
    setTimeout(() => socket.destroy(), 5000).unref();
    logger.debug({ code, parserError: err.code }, 'request refused by the HTTP parser');
  });
}
