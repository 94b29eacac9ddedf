import type { Sql } from '@gatehouse/core';

/**
 * Several writes as one SQL statement (data-modifying CTEs): one round trip, one plan and one
 * commit. The unit of work (unit-of-work.ts) stores a request's writes this way.
 */

export interface BatchedWrite {
  text: string;
  params: unknown[];
  /** The statement must return a row; otherwise the batch is refused with `refused()`. */
  mustReturnRow?: { refused: () => Promise<void> | void; description: string };
  /**
   * Writes that carry the same `combine` may be stored together as the one statement it builds from
   * their params (for a text that does not depend on how many there are: one prepared plan).
   */
  combine?: (params: unknown[][]) => { text: string; params: unknown[] };
}

function isDivisionByZero(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (e.code === '22012' || (typeof e.message === 'string' && /division by zero/.test(e.message)))
      return true;
  }
  return false;
}

/**
 * Every write as one statement. A write that must return a row and returns none makes the final
 * select divide by zero, which fails the whole statement: nothing is stored ('refused'; the caller
 * finds out which write refused).
 */
export async function commitAsOneStatement(sql: Sql, writes: BatchedWrite[]): Promise<'ok' | 'refused'> {
  const guards = writes.flatMap((w, i) => (w.mustReturnRow ? [`(select count(*) from w${i})`] : []));
  const check = guards.length === 0 ? '1' : `1 / least(${guards.join(', ')}, 1)`;
  const statement = asOneStatement(writes, `${check} as ok`);
  try {
    await sql.query(statement.text, statement.params);
    return 'ok';
  } catch (err) {
    if (isDivisionByZero(err)) return 'refused';
    throw err;
  }
}

/**
 * The writes as data-modifying CTEs `w0`, `w1`, … of one statement that ends with `select <select>`
 * (which may read what they return).
 */
export function asOneStatement(writes: BatchedWrite[], select: string): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const ctes: string[] = [];
  for (const [i, w] of writes.entries()) {
    const offset = params.length;
    params.push(...w.params);
    ctes.push(`w${i} as (${shiftedParameters(w.text, offset)})`);
  }
  return { text: `with ${ctes.join(',\n')} select ${select}`, params };
}

/** Renumbered texts by text and offset: the idp batches few distinct texts, at few offsets. */
const shifted = new Map<string, Map<number, string>>();

/**
 * `text` with its parameters $1..$n renumbered to follow `offset` others. Every batched statement
 * names its parameters $1..$n only (no `$` in literals). Each text and offset is renumbered once,
 * not on every request; the table is emptied should it ever grow past 1,000 texts.
 */
function shiftedParameters(text: string, offset: number): string {
  if (offset === 0) return text;
  let byOffset = shifted.get(text);
  if (byOffset === undefined) {
    if (shifted.size >= 1000) shifted.clear();
    byOffset = new Map();
    shifted.set(text, byOffset);
  }
  let out = byOffset.get(offset);
  if (out === undefined) {
    out = text.replace(/\$(\d+)/g, (_m, n: string) => `$${Number(n) + offset}`);
    byOffset.set(offset, out);
  }
  return out;
}
