import type { Server } from 'node:http';
import type { Logger } from 'pino';

export type Closer = () => Promise<void> | void;

/**
 * Graceful shutdown: on SIGTERM/SIGINT, stop accepting, let in-flight requests finish, run the
 * closers (pools, subscriptions) in reverse order of registration, and exit within `timeoutMs`
 * even if something hangs.
 */
export class Shutdown {
  readonly #closers: { name: string; fn: Closer }[] = [];
  readonly #servers: Server[] = [];
  #draining = false;
  #done: Promise<void> | undefined;

  private readonly logger: Logger;
  private readonly timeoutMs: number;

  constructor(logger: Logger, timeoutMs = 4000) {
    this.logger = logger;
    this.timeoutMs = timeoutMs;
  }

  get draining(): boolean {
    return this.#draining;
  }

  addServer(server: Server): void {
    this.#servers.push(server);
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
    await Promise.all(
      this.#servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
            const left = Math.max(0, deadline - Date.now() - 500);
            setTimeout(() => {
              server.closeAllConnections();
              resolve();
            }, left).unref();
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
