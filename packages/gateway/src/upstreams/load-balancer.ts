/**
 * Picks the replica for one attempt among those that may take traffic now.
 * - round-robin: the next available replica after the last one picked, in configuration order.
 * - least-outstanding: the available replica with the fewest requests in flight; ties go
 *   round-robin so equal replicas share the load instead of the first one taking it all.
 */
export type BalanceKind = 'round-robin' | 'least-outstanding';

export interface Balanced {
  readonly outstanding: number;
}

export interface LoadBalancer<R extends Balanced> {
  /** A replica that is available and not in `exclude` (already tried), or undefined. */
  pick(available: (replica: R) => boolean, exclude?: ReadonlySet<R>): R | undefined;
}

export function createLoadBalancer<R extends Balanced>(
  kind: BalanceKind,
  replicas: readonly R[],
): LoadBalancer<R> {
  let next = 0;
  const n = replicas.length;

  if (kind === 'round-robin') {
    return {
      pick(available, exclude) {
        for (let i = 0; i < n; i++) {
          const index = (next + i) % n;
          const replica = replicas[index]!;
          if (exclude?.has(replica) || !available(replica)) continue;
          next = (index + 1) % n;
          return replica;
        }
        return undefined;
      },
    };
  }

  return {
    pick(available, exclude) {
      let best: R | undefined;
      let bestIndex = 0;
      for (let i = 0; i < n; i++) {
        const index = (next + i) % n;
        const replica = replicas[index]!;
        if (exclude?.has(replica) || !available(replica)) continue;
        if (best === undefined || replica.outstanding < best.outstanding) {
          best = replica;
          bestIndex = index;
        }
      }
      if (best !== undefined) next = (bestIndex + 1) % n;
      return best;
    },
  };
}
