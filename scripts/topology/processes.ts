import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How to start one process of the topology and how to tell it is healthy. */
export interface ProcessSpec {
  name: string;
  /** idp, gateway, authz, products, orders, nginx */
  kind: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  /** Readiness URL; https ones are checked against the topology's CA. */
  health: string;
  /** Run as this user and group (nginx, when started by root). */
  uid?: number;
  gid?: number;
}

export function pidFile(dir: string, name: string): string {
  return join(dir, 'pids', `${name}.pid`);
}

export function logFile(dir: string, name: string): string {
  return join(dir, 'logs', `${name}.log`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readPid(dir: string, name: string): number | undefined {
  const file = pidFile(dir, name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Start a process detached from this one, its output appended to its own log file. */
export function startProcess(dir: string, spec: ProcessSpec): number {
  const log = openSync(logFile(dir, spec.name), 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: process.cwd(),
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...spec.env },
      ...(spec.uid === undefined ? {} : { uid: spec.uid, gid: spec.gid }),
    });
    if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
    child.unref();
    writeFileSync(pidFile(dir, spec.name), `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** Send a signal; then (for SIGTERM) wait up to `graceMs` and SIGKILL what is left. */
export async function stopProcess(
  dir: string,
  name: string,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 8000,
): Promise<void> {
  const pid = readPid(dir, name);
  if (pid === undefined) return;
  if (alive(pid)) {
    try {
      process.kill(pid, signal);
    } catch {}
    const deadline = Date.now() + (signal === 'SIGKILL' ? 2000 : graceMs);
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
      while (alive(pid)) await sleep(20);
    }
  }
  rmSync(pidFile(dir, name), { force: true });
}
