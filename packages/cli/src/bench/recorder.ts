import { LatencySamples } from './latency-samples.ts';

/** What a figure in the published tables stands for: a login, or a token issued. */
export type StepRole = 'login' | 'token';

export interface StepRecord {
  service: string;
  step: string;
  role?: StepRole;
  /** Latencies of the steps that succeeded, in ms. */
  samples: LatencySamples;
  errors: number;
  errorKinds: Map<string, number>;
}

/** Collects step timings and failures for one user count. */
export class Recorder {
  readonly steps = new Map<string, StepRecord>();
  /** HTTP requests sent (a step may send several), including those that failed. */
  requests = 0;
  completedSteps = 0;
  failedSteps = 0;
  completedIterations = 0;

  #record(service: string, step: string, role: StepRole | undefined): StepRecord {
    const key = `${service}\u0000${step}`;
    let r = this.steps.get(key);
    if (!r) {
      r = { service, step, role, samples: new LatencySamples(), errors: 0, errorKinds: new Map() };
      this.steps.set(key, r);
    }
    return r;
  }

  success(service: string, step: string, role: StepRole | undefined, ms: number): void {
    this.#record(service, step, role).samples.add(ms);
    this.completedSteps++;
  }

  failure(service: string, step: string, role: StepRole | undefined, kind: string): void {
    const r = this.#record(service, step, role);
    r.errors++;
    r.errorKinds.set(kind, (r.errorKinds.get(kind) ?? 0) + 1);
    this.failedSteps++;
  }
}
