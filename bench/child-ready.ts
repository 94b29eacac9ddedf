/**
 * The origin a bench's server child prints as `READY <origin>` on its stdout once it serves; rejects
 * with what the child printed if it exits first. `what` names the child in that error.
 */
import type { ChildProcess } from 'node:child_process';

export function childReady(child: ChildProcess, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const ready = /^READY (\S+)$/m.exec(out);
      if (ready) resolve(ready[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${out}`)));
  });
}
