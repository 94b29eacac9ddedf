// `gatehouse dev` as a real child process for end-to-end tests: a free port, a fresh data folder,
// wait until OpenID discovery answers through the gateway, stop with SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../packages/cli/src/bin.ts', import.meta.url));

/** A TCP port free on 127.0.0.1 at the time of the call. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Running {
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output: () => string;
}

/**
 * Start `gatehouse dev` with `env` and wait until `<origin>/auth` answers discovery: up to 180 s, or
 * GATEHOUSE_TEST_DEV_READY_MS on a machine shared with other work.
 */
export async function startDev(
  env: Record<string, string>,
  origin: string,
  args: string[] = [],
): Promise<Running> {
  const child = spawn(process.execPath, [bin, 'dev', ...args], {
    env: { ...process.env, GATEHOUSE_LOG__LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const deadline = Date.now() + Number(process.env['GATEHOUSE_TEST_DEV_READY_MS'] ?? 180_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gatehouse dev exited with ${child.exitCode}:\n${out}`);
    // Discovery answering is not enough: with ports chosen by freePort another test's stack may
    // hold this port for a moment. The banner is printed by this child once it listens.
    try {
      const res = await fetch(`${origin}/auth/.well-known/openid-configuration`);
      if (res.ok && out.includes('Press Ctrl-C to stop.')) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`gatehouse dev not ready:\n${out}`);
    }
    // Polling the discovery URL is the readiness condition; the pause only spaces the attempts.
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out };
}

/** SIGTERM and wait for the exit; resolves to the exit code and how long it took. */
export async function stop(running: Running): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  if (running.child.exitCode !== null) return { code: running.child.exitCode, ms: 0 };
  const exited = new Promise<number | null>((resolve) => running.child.once('exit', (code) => resolve(code)));
  running.child.kill('SIGTERM');
  const code = await exited;
  return { code, ms: Date.now() - started };
}

export interface DevStack {
  origin: string;
  issuer: string;
  env: Record<string, string>;
  dataDir: string;
  running: Running;
  /** Stop the process and remove the data folder. */
  close(): Promise<void>;
}

/**
 * A whole `gatehouse dev` on free ports (gateway, and the two SSO example apps) with a fresh data
 * folder; `extraEnv` adds to or overrides the environment (e.g. GATEHOUSE_CONFIG).
 */
export async function startDevStack(extraEnv: Record<string, string> = {}): Promise<DevStack> {
  // freePort's ports are free when asked, not when the child binds them: another test started
  // meanwhile may take one. That refusal is the tests' own race, so the stack starts again on other
  // ports; any other failure is the product's and is thrown.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevStackOnce(extraEnv);
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

async function startDevStackOnce(extraEnv: Record<string, string>): Promise<DevStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-dev-'));
  const [port, app1, app2] = [await freePort(), await freePort(), await freePort()];
  const origin = `http://localhost:${port}`;
  const env = {
    GATEHOUSE_SERVER__PORT: String(port),
    GATEHOUSE_SERVER__PUBLIC_URL: origin,
    GATEHOUSE_STORAGE__DATA_DIR: dataDir,
    GATEHOUSE_SSO_APP1_PORT: String(app1),
    GATEHOUSE_SSO_APP2_PORT: String(app2),
    ...extraEnv,
  };
  let running: Running;
  try {
    running = await startDev(env, origin);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const stack: DevStack = {
    origin,
    issuer: `${origin}/auth`,
    env,
    dataDir,
    running,
    async close() {
      await stop(stack.running);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}
