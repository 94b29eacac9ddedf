import type { Sql, SqlTx } from '@gatehouse/core';

/** A statement's first four words: enough to tell the statements of a request apart in assertions. */
export const statementHead = (text: string) => text.trim().split(/\s+/).slice(0, 4).join(' ');

/**
 * The SQL layer, recording while `on` every statement (its first words and its whole text) and
 * every transaction; `failWhen` makes the next matching statement fail (once), as a lost database
 * would. Shared by the tests that count what a request writes (login-batch, refresh-batch).
 */
export function recordingSql(sql: Sql) {
  const seen = {
    on: false,
    statements: [] as string[],
    texts: [] as string[],
    transactions: 0,
    failWhen: undefined as RegExp | undefined,
  };
  const run = (target: SqlTx, text: string, params?: unknown[]) => {
    if (seen.failWhen?.test(text)) {
      seen.failWhen = undefined;
      return Promise.reject(new Error('connection lost (test)'));
    }
    if (seen.on) {
      seen.statements.push(statementHead(text));
      seen.texts.push(text);
    }
    return target.query(text, params);
  };
  const proxy = new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === 'query') return (text: string, params?: unknown[]) => run(target, text, params);
      if (prop === 'transaction') {
        return (fn: Parameters<Sql['transaction']>[0]) => {
          if (seen.on) seen.transactions++;
          return target.transaction(fn);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { proxy, seen };
}
