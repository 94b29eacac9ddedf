/**
 * Counting a check's SQL round trips. Latency on a loaded machine says little; the number of
 * statements a check sends, and how many of them had to wait one for another, does not depend on
 * the load and bounds the latency from below (sequential round trips × one statement's time).
 */
import type { Sql } from '@gatehouse/core';

export interface Interval {
  start: number;
  end: number;
}

/** `sql` with every statement's start and end recorded (transactions pass through unrecorded). */
export function tracedSql(sql: Sql): { sql: Sql; reset(): void; intervals(): Interval[] } {
  let recorded: Interval[] = [];
  const traced: Sql = {
    driver: sql.driver,
    async query(text, params) {
      const interval = { start: performance.now(), end: Number.POSITIVE_INFINITY };
      recorded.push(interval);
      try {
        return await sql.query(text, params);
      } finally {
        interval.end = performance.now();
      }
    },
    transaction: (fn) => sql.transaction(fn),
    ping: () => sql.ping(),
    close: () => sql.close(),
  };
  return {
    sql: traced,
    reset: () => {
      recorded = [];
    },
    intervals: () => recorded,
  };
}

/**
 * `statements`: how many were sent. `sequential`: the most of them that ran one after another (each
 * sent after the one before had answered) — the round trips the check waited for in a row. Two reads
 * of which one needs the other's answer never overlap, so the check's longest chain of dependent
 * reads is at most this; reads sent side by side count once.
 */
export function roundTrips(intervals: readonly Interval[]): { statements: number; sequential: number } {
  // Earliest end first, each taken when it starts after the last taken ended: the largest set of
  // pairwise disjoint intervals.
  const byEnd = [...intervals].sort((a, b) => a.end - b.end);
  let sequential = 0;
  let lastEnd = Number.NEGATIVE_INFINITY;
  for (const i of byEnd) {
    if (i.start >= lastEnd) {
      sequential++;
      lastEnd = i.end;
    }
  }
  return { statements: intervals.length, sequential };
}
