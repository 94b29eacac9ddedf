import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';

export type Closer = () => Promise<void> | void;

/**
 * Graceful shutdown: on SIGTERM/SIGINT, drain, stop accepting, let in-flight requests finish, run
 * the closers (pools, subscriptions) in reverse order of registration, and exit within `timeoutMs`
 * even if something hangs.
 *
 * Draining comes first and lasts `drainDelayMs`: readiness fails (so a load balancer stops sending)
 * while the listener still takes what was already on its way, and every answer carries
 * `Connection: close`, so a kept-alive connection ends cleanly after the request it carries instead
 * of being cut under the next one. Then the listener closes (new connections are refused, which a
 * load balancer retries elsewhere), idle keep-alive connections are closed, and requests already
 * received are answered; only those still running at the deadline are cut.
 */
export class Shutdown {
  readonly #closers: { name: string; fn: Closer }[] = [];
  readonly #servers: Server[] = [];
  readonly #drainers: (() => void)[] = [];
  /** Answers still being written when draining starts get `Connection: close` too. */
  readonly #inFlight = new Set<ServerResponse>();
  /** Open connections and how many requests each is answering. */
  readonly #busy = new Map<Socket, number>();
  #closing = false;
  #draining = false;
  #done: Promise<void> | undefined;

  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly drainDelayMs: number;

  constructor(logger: Logger, timeoutMs = 4000, drainDelayMs = 0) {
    this.logger = logger;
    this.timeoutMs = timeoutMs;
    // Half the budget at most: what is in flight when the listener closes still needs time.
    this.drainDelayMs = Math.min(drainDelayMs, Math.floor(timeoutMs / 2));
  }

  get draining(): boolean {
    return this.#draining;
  }

  addServer(server: Server): void {
    this.#servers.push(server);
    // A TLS server's requests arrive on the TLS socket, not the TCP one `connection` gives.
    const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
    server.on(event, (socket: Socket) => {
      this.#busy.set(socket, 0);
      socket.once('close', () => this.#busy.delete(socket));
    });
    // Before the application's handler, so its answer goes out with the header.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      this.#busy.set(socket, (this.#busy.get(socket) ?? 0) + 1);
      res.once('close', () => {
        const left = (this.#busy.get(socket) ?? 1) - 1;
        this.#busy.set(socket, left);
        if (left === 0 && this.#closing) socket.end();
      });
      if (this.#draining) {
        res.setHeader('connection', 'close');
        return;
      }
      this.#inFlight.add(res);
      res.once('close', () => this.#inFlight.delete(res));
    });
  }

  /** Called once when draining starts, before the listeners close (e.g. to fail readiness). */
  onDrain(fn: () => void): void {
    this.#drainers.push(fn);
  }

  add(name: string, fn: Closer): void {
    this.#closers.push({ name, fn });
  }

  /** Install SIGTERM and SIGINT handlers that run `close()` then exit. */
  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    const onSignal = (signal: string) => {
      this.logger.info({ signal }, 'shutting down');
      const hardStop = setTimeout(() => {
        this.logger.error({ timeoutMs: this.timeoutMs }, 'shutdown timed out, exiting');
        exit(1);
      }, this.timeoutMs + 500);
      hardStop.unref();
      this.close().then(
        () => exit(0),
        (err: unknown) => {
          this.logger.error({ err }, 'shutdown failed');
          exit(1);
        },
      );
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  }

  close(): Promise<void> {
    this.#done ??= this.#run();
    return this.#done;
  }

  async #run(): Promise<void> {
    this.#draining = true;
    const deadline = Date.now() + this.timeoutMs;
    for (const res of this.#inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    for (const fn of this.#drainers) fn();
    if (this.drainDelayMs > 0) {
      this.logger.info(
        { drainDelayMs: this.drainDelayMs },
        'draining: readiness fails, connections close after their answer',
      );
      await new Promise((resolve) => setTimeout(resolve, this.drainDelayMs));
    }
    // Idle connections end now (nothing was received on them); busy ones end after their answer.
    this.#closing = true;
    for (const [socket, busy] of this.#busy) if (busy === 0) socket.end();
    await Promise.all(
      this.#servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            const left = Math.max(0, deadline - Date.now() - 500);
            const hard = setTimeout(() => {
              server.closeAllConnections();
              resolve();
            }, left);
            hard.unref();
            server.close(() => {
              clearTimeout(hard);
              resolve();
            });
          }),
      ),
    );
    for (const { name, fn } of [...this.#closers].reverse()) {
      try {
        await fn();
      } catch (err) {
        this.logger.warn({ err, closer: name }, 'closer failed during shutdown');
      }
    }
  }
}
