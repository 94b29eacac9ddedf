/**
 * Every latency of one step, kept exactly. Percentiles come from the sorted samples (nearest-rank
 * method), not from a histogram: a bench run holds at most a few million samples (8 bytes each), so
 * exact values cost little and need no explanation of bucket error.
 */
export class LatencySamples {
  #values = new Float64Array(256);
  #count = 0;
  #sum = 0;
  #sorted = true;

  get count(): number {
    return this.#count;
  }

  add(ms: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#count++] = ms;
    this.#sum += ms;
    this.#sorted = false;
  }

  addAll(other: LatencySamples): void {
    for (const v of other.values()) this.add(v);
  }

  values(): Float64Array {
    return this.#values.subarray(0, this.#count);
  }

  mean(): number {
    return this.#count === 0 ? Number.NaN : this.#sum / this.#count;
  }

  max(): number {
    return this.percentile(100);
  }

  /** Nearest-rank percentile: the smallest sample with at least p% of samples at or below it. */
  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN;
    if (!this.#sorted) {
      this.values().sort();
      this.#sorted = true;
    }
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    return this.#values[Math.min(rank, this.#count) - 1]!;
  }
}

export const percentileMethod = 'exact: nearest rank over all sorted samples of successful steps';
