/**
 * A consecutive-failure circuit breaker: closed → open after `failureThreshold` failures in a row;
 * open rejects for `openMs`; then half-open lets exactly one trial through, whose outcome closes or
 * re-opens it. Used per route (is the service failing as a whole?) and per replica (passive
 * ejection). Kept by hand because it is a few lines of state on the hot path, with no I/O.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  failureThreshold: number;
  openMs: number;
  /** Clock, for tests. */
  now?: () => number;
  onStateChange?: (state: BreakerState) => void;
}

export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #openUntil = 0;
  #trialInFlight = false;
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #now: () => number;
  readonly #onStateChange: ((state: BreakerState) => void) | undefined;

  constructor(options: CircuitBreakerOptions) {
    this.#threshold = Math.max(1, options.failureThreshold);
    this.#openMs = options.openMs;
    this.#now = options.now ?? Date.now;
    this.#onStateChange = options.onStateChange;
  }

  /** The state as of now (an open breaker whose time is up reads as half-open). */
  get state(): BreakerState {
    if (this.#state === 'open' && this.#now() >= this.#openUntil) this.#set('half-open');
    return this.#state;
  }

  /** Epoch ms until which an open breaker rejects; undefined when not open. */
  get openUntil(): number | undefined {
    return this.state === 'open' ? this.#openUntil : undefined;
  }

  /** Would a request pass now? Does not reserve the half-open trial: see `tryPass`. */
  canPass(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && !this.#trialInFlight);
  }

  /** Reserve passage: true when closed, or when this call takes the single half-open trial. */
  tryPass(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'half-open' && !this.#trialInFlight) {
      this.#trialInFlight = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.#failures = 0;
    this.#trialInFlight = false;
    if (this.#state !== 'closed') this.#set('closed');
  }

  failure(): void {
    this.#trialInFlight = false;
    if (this.#state === 'half-open') {
      this.#open();
      return;
    }
    this.#failures++;
    if (this.#state === 'closed' && this.#failures >= this.#threshold) this.#open();
  }

  /** Forget a reserved half-open trial whose request ended without a verdict (client went away). */
  abandon(): void {
    this.#trialInFlight = false;
  }

  /** Close from outside, e.g. when active health checks find the replica healthy again. */
  reset(): void {
    this.success();
  }

  #open(): void {
    this.#failures = 0;
    this.#openUntil = this.#now() + this.#openMs;
    this.#set('open');
  }

  #set(state: BreakerState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#onStateChange?.(state);
  }
}
