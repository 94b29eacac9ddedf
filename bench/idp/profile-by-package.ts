/**
 * Where a process's event-loop time goes, by package: V8's sampling profiler (node:inspector, in
 * this process) over a window, each sample given to the package whose JavaScript was running — or,
 * for a native or built-in frame (a socket write, an HMAC, JSON.parse), to the nearest caller that
 * is JavaScript with a file, so that the work a package asks of the runtime counts as its own.
 *
 * Categories: `npm:<package>` (node_modules), `ours:<package>` (packages/<name>/src), `node:<module>`
 * and `node:internal/<area>` (Node's own JavaScript: http, streams, net, crypto, async hooks), `(garbage collector)`, `(program)` (V8 outside any
 * frame). Idle samples are left out, so the shares are of the busy event loop.
 *
 * Used by `login.ts --profile`. The profiler's own cost inflates CPU figures of a profiled run; its
 * shares are what to read. V8 samples on a wall-clock timer: a thread descheduled right after a
 * socket write has woken its peer still counts as in that write, so socket writes
 * (`node:internal/stream_base_commons`) come out larger, and every other share smaller, than their
 * part of the CPU.
 */
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

let session: Session | undefined;

export async function startProfile(intervalMicros = 250): Promise<void> {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalMicros });
  await session.post('Profiler.start');
}

/** Stops the profiler; busy microseconds per category, largest first. */
export async function stopProfile(): Promise<[string, number][]> {
  if (!session) return [];
  const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
  session.disconnect();
  session = undefined;
  return byPackage(profile);
}

function categoryOf(frame: ProfileNode['callFrame']): string | undefined {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : undefined; // native: ask the caller
  const npm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (npm) return `npm:${npm[1]}`;
  const ours = /packages\/([^/]+)\/src\//.exec(url);
  if (ours) return `ours:${ours[1]}`;
  // node:internal/<area>/… by area (http, streams, crypto, async_hooks …); node:<module> by module.
  if (url.startsWith('node:internal/')) return `node:internal/${url.slice(14).split(/[/.]/)[0]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5)}`;
  return url.split('/').slice(-2).join('/');
}

export function byPackage(profile: Profile): [string, number][] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const memo = new Map<number, string>();
  const category = (id: number): string => {
    const known = memo.get(id);
    if (known) return known;
    let found = '(root)';
    for (let node = nodes.get(id); node; node = nodes.get(parentOf.get(node.id) ?? -1)) {
      const c = categoryOf(node.callFrame);
      if (c) {
        found = c;
        break;
      }
    }
    memo.set(id, found);
    return found;
  };
  const totals = new Map<string, number>();
  // timeDeltas[i] is the time before sample i; the time sample i stands for is the next delta.
  for (let i = 0; i < profile.samples.length; i++) {
    const c = category(profile.samples[i]!);
    if (c === '(idle)') continue;
    totals.set(c, (totals.get(c) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}
