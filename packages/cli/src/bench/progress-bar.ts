import { performance } from 'node:perf_hooks';
import type { LiveLevel } from './engine.ts';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const BAR_WIDTH = 24;

/** Done share (0–1) of a running level: time for duration runs, loops for iteration runs. */
export function progressShare(live: LiveLevel, now: number): number {
  const share =
    'durationMs' in live.stop
      ? (now - live.startedAt) / live.stop.durationMs
      : live.recorder.completedIterations / (live.users * live.stop.iterations);
  return Math.min(1, Math.max(0, share));
}

export function progressLine(live: LiveLevel, now: number): string {
  const share = progressShare(live, now);
  const filled = Math.round(share * BAR_WIDTH);
  const seconds = (now - live.startedAt) / 1000;
  const r = live.recorder;
  const steps = r.completedSteps + r.failedSteps;
  const of =
    'durationMs' in live.stop
      ? `${seconds.toFixed(1)}/${(live.stop.durationMs / 1000).toFixed(1)} s`
      : `${seconds.toFixed(1)} s`;
  return (
    `users ${String(live.users).padStart(4)} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ` +
    `${String(Math.floor(share * 100)).padStart(3)}% ${of}  ${steps} steps  ${r.failedSteps} errors  ` +
    `${seconds > 0 ? (steps / seconds).toFixed(0) : '0'} steps/s`
  );
}

/**
 * Progress on stderr (never stdout, which carries the report): redrawn in place on a terminal,
 * a plain line every few seconds otherwise (CI logs, pipes).
 */
export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #live: LiveLevel | undefined;

  constructor(stream: ProgressStream, options: { intervalMs?: number } = {}) {
    this.#stream = stream;
    this.#intervalMs = options.intervalMs ?? (stream.isTTY ? 100 : 2000);
  }

  start(live: LiveLevel): void {
    this.stop();
    this.#live = live;
    this.#timer = setInterval(() => this.#draw(), this.#intervalMs);
    this.#timer.unref();
    if (this.#stream.isTTY) this.#draw();
  }

  /** Prints the level's last state on its own line and stops redrawing. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#live) {
      const line = progressLine(this.#live, performance.now());
      this.#stream.write(this.#stream.isTTY ? `\r\x1b[2K${line}\n` : `${line}\n`);
    }
    this.#live = undefined;
  }

  #draw(): void {
    if (!this.#live) return;
    const line = progressLine(this.#live, performance.now());
    if (this.#stream.isTTY) {
      // A pseudo-terminal without a size reports 0 columns.
      const width = this.#stream.columns || 120;
      this.#stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, width - 1))}`);
    } else {
      this.#stream.write(`${line}\n`);
    }
  }
}
