/**
 * CPU time of the parties of a benchmark, read from /proc (Linux only), so that "per core" means
 * requests per CPU-second of the process measured rather than requests per wall second on a
 * shared machine.
 *
 * - `processCpuSeconds(pid)`: user + system time of a process, all its threads (libuv pool included);
 *   `threadCpuSeconds(pid)` the same per thread name.
 * - `childrenCpuSeconds(pid)`: user + system time of the children a process has waited for (how a
 *   shell wrapper reports the CPU of a program that has exited, such as wrk).
 * - `postgresBackendsOf(pid)`: the PostgreSQL backend processes serving the TCP connections that
 *   `pid` holds to port 5432 (a backend's title names its client's address and port).
 * - `machineCpuTicks()`: busy and total ticks of all cores, to tell whether the machine was saturated.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node runs on

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces and parentheses. */
function statFields(pid: number | 'self'): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // the process has exited
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** Fields are numbered from 1 as in proc(5); the first one after the name is field 3 (state). */
const field = (fields: string[], n: number) => Number(fields[n - 3]);

/** utime + stime of a process in seconds, or undefined once it has exited. */
export function processCpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  return f && (field(f, 14) + field(f, 15)) / TICKS_PER_SECOND;
}

/** User and system (kernel: socket writes, page faults) CPU seconds of a process; zeros once it has exited. */
export function processCpuSplitSeconds(pid: number): { user: number; system: number } {
  const f = statFields(pid);
  return f
    ? { user: field(f, 14) / TICKS_PER_SECOND, system: field(f, 15) / TICKS_PER_SECOND }
    : { user: 0, system: 0 };
}

/** utime + stime in seconds of each thread name of a process (main thread, libuv-worker, V8Worker...). */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (field(f, 14) + field(f, 15)) / TICKS_PER_SECOND);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** cutime + cstime of a /proc/<pid>/stat line (the waited-for children's CPU), in seconds. */
export function childrenCpuSecondsFromStat(statLine: string): number {
  const f = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  return (field(f, 16) + field(f, 17)) / TICKS_PER_SECOND;
}

/** The socket inodes a process holds open. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Local ports of `pid`'s TCP connections to `remotePort`. */
function clientPorts(pid: number, remotePort: number): Set<number> {
  const inodes = socketInodes(pid);
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = cols[1]!;
      const remote = cols[2]!;
      if (Number.parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16) !== remotePort) continue;
      if (inodes.has(cols[9]!)) ports.add(Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return ports;
}

/** PIDs of the PostgreSQL backends serving `pid`'s connections to port `pgPort` on this machine. */
export function postgresBackendsOf(pid: number, pgPort = 5432): number[] {
  const ports = clientPorts(pid, pgPort);
  if (ports.size === 0) return [];
  const backends: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let title: string;
    try {
      title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    // "postgres: 15/main: postgres test 127.0.0.1(38960) idle"
    const m = /^postgres: .*\((\d+)\)/.exec(title);
    if (m && ports.has(Number(m[1]))) backends.push(Number(entry));
  }
  return backends;
}

/** PIDs of every process whose name is `postgres` (backends of every client, walwriter, checkpointer...). */
export function allPostgresProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** CPU seconds of each of `pids` now (exited ones are left out). */
export function cpuOf(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const s = processCpuSeconds(pid);
    if (s !== undefined) out.set(pid, s);
  }
  return out;
}

/**
 * CPU seconds the processes of `after` used since `before`; a process that appeared in between
 * counts in full (it started during the window).
 */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, s] of after) sum += s - (before.get(pid) ?? 0);
  return sum;
}

/** Busy and total ticks over all cores since boot (/proc/stat user..steal; busy = all but idle and iowait). */
export function machineCpuTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0), total };
}
