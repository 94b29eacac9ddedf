// The reference systems `gatehouse dev` brings up behind the gateway. Each lives in examples/<name>/
// of the repository, built only on the public packages; this list is the one place that names them.
// They are not in the npm package: run from the package (this file compiled to .js), `gatehouse dev`
// starts the core stack alone and says so.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Example } from './example-contract.ts';

export type { Example, ExampleHandle } from './example-contract.ts';

const names = ['shop', 'partscoder', 'service-to-service', 'sso', 'beep', 'python-service'];

export interface LoadedExamples {
  examples: Example[];
  /** One line each for what is left out and why. */
  notes: string[];
}

const NOT_HERE =
  'reference systems: not part of the npm package (they live in examples/ of the repository); running the core stack';

export async function loadExamples(): Promise<LoadedExamples> {
  // From the npm package (compiled .js) the repository is not there; looking for it would only find
  // whatever happens to sit at that path under node_modules.
  if (!import.meta.url.endsWith('.ts')) return { examples: [], notes: [NOT_HERE] };
  const examples: Example[] = [];
  const notes: string[] = [];
  const urls = names.map((name) => new URL(`../../../examples/${name}/src/index.ts`, import.meta.url));
  // A container image built from the repository carries packages/ without examples/.
  if (!urls.some((url) => existsSync(url))) {
    const dir = fileURLToPath(new URL('../../../examples/', import.meta.url));
    return { examples, notes: [`reference systems: not found in ${dir}; running the core stack`] };
  }
  for (const url of urls) {
    const { example } = (await import(url.href)) as { example: Example };
    const reason = await example.unavailable?.();
    if (reason === undefined) examples.push(example);
    else notes.push(`${example.name} example is off: ${reason}`);
  }
  return { examples, notes };
}
