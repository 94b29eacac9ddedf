import { BenchHttp } from './http-client.ts';
import { errorKind } from './step-errors.ts';

/**
 * Whether anything answers HTTP at the target (any status will do). A bench against a closed port
 * would otherwise print tables of nothing but connection errors.
 */
export async function unreachableReason(target: string, timeoutMs: number): Promise<string | undefined> {
  const http = new BenchHttp({ target, connections: 1, timeoutMs });
  try {
    await http.session().request('GET', '/', { expect: 'any' });
    return undefined;
  } catch (err) {
    return errorKind(err);
  } finally {
    await http.close();
  }
}
