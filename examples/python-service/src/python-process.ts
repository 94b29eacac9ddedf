import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Debian's interpreter, where python3-fastapi, python3-uvicorn and python3-jwt install their modules
// (a `python3` earlier on PATH may be another installation without them). GATEHOUSE_PYTHON names
// another interpreter that has them.
export const PYTHON = '/usr/bin/python3';

export function pythonPath(): string {
  return process.env['GATEHOUSE_PYTHON'] || PYTHON;
}
const SERVICE = fileURLToPath(new URL('../app/service.py', import.meta.url));
const MODULES = ['fastapi', 'uvicorn', 'jwt', 'cryptography'];

/** Why the Python service cannot run on this machine, or undefined when it can. */
export function pythonUnavailable(python = pythonPath(), modules = MODULES): string | undefined {
  const probe = `import importlib.util, sys
missing = [m for m in ${JSON.stringify(modules)} if importlib.util.find_spec(m) is None]
print(" ".join(missing))`;
  const r = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 10_000 });
  if (r.error)
    return `${python} not found (install python3, python3-fastapi, python3-uvicorn, python3-jwt and python3-cryptography)`;
  if (r.status !== 0) return `${python} failed: ${r.stderr.trim()}`;
  const missing = r.stdout.trim();
  if (missing !== '') {
    return `${python} lacks ${missing.split(' ').join(', ')} (scripts/install-peers.sh installs python3-fastapi, python3-uvicorn, python3-jwt and python3-cryptography)`;
  }
  return undefined;
}

export interface PythonServiceOptions {
  issuer: string;
  audience: string;
  jwksUri: string;
  /** Where its stderr lines go. */
  log?: (line: string) => void;
}

export interface PythonService {
  url: string;
  close(): Promise<void>;
}

/** Start app/service.py on 127.0.0.1 and a free port; resolves once it listens. */
export function startPythonService(options: PythonServiceOptions): Promise<PythonService> {
  const child: ChildProcess = spawn(pythonPath(), [SERVICE], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      GATEHOUSE_ISSUER: options.issuer,
      GATEHOUSE_AUDIENCE: options.audience,
      GATEHOUSE_JWKS_URI: options.jwksUri,
      PYTHONUNBUFFERED: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim() !== '') options.log?.(line);
  });
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n').find((l) => l.startsWith('{"port"'));
      if (!line) return;
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      const { port } = JSON.parse(line) as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, close });
    };
    const onExit = (code: number | null) =>
      reject(new Error(`python-service exited with ${code} before listening`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}
