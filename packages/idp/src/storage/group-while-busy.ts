/**
 * Group commit, for statements many concurrent requests each need once: the first item is sent at
 * once; while its statement is in flight, the items that arrive wait and go together in the next
 * one (at most `max` units of `size` each), and so on until none wait. An idle server therefore
 * pays no delay, and a busy one pays one round trip and one commit for many requests.
 *
 * `flush` receives one group and must settle every item of it itself (resolve, reject, or fall
 * back), and never reject: an item left unsettled would keep its request waiting.
 */
export function groupWhileBusy<T>(options: {
  max: number;
  size?: (item: T) => number;
  flush: (group: T[]) => Promise<void>;
}): (item: T) => void {
  const size = options.size ?? (() => 1);
  const waiting: T[] = [];
  let flushing = false;

  async function drain(): Promise<void> {
    flushing = true;
    try {
      while (waiting.length > 0) {
        const group = [waiting.shift()!];
        let total = size(group[0]!);
        while (waiting.length > 0 && total + size(waiting[0]!) <= options.max) {
          const next = waiting.shift()!;
          group.push(next);
          total += size(next);
        }
        await options.flush(group);
      }
    } finally {
      flushing = false;
    }
  }

  return (item) => {
    waiting.push(item);
    if (!flushing) void drain();
  };
}
