// Every shell and TypeScript snippet of README.md, docs/*.md and docs/sdk/*.md, run as written
// against one real `gatehouse dev`, so a snippet that drifts from the code fails the build.
//
// A snippet says how it is tested in an HTML comment on the line before its fence:
//   <!-- snippet: expect 200 401 -->       shell: the HTTP statuses of its curl calls, in order
//   <!-- snippet: expect output /re/m -->  shell: its output matches the regular expression
//   <!-- snippet: file NAME.ts -->         TypeScript: saved as NAME.ts (shell snippets run it) and type-checked
//   <!-- snippet: config -->               YAML: merged into the configuration `gatehouse dev` runs with
//   <!-- snippet: skip REASON -->          not run (production hosts, fragments); the reason is required
// Shell snippets run with bash in a scratch folder beside the project (`./node_modules`,
// `./examples` link to it), `http://localhost:8080` rewritten to the test stack's origin; a service
// a snippet starts with `&` is stopped when the snippet ends. `npx gatehouse` runs the project's
// command, which is what npx finds in the project folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { globSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type DevStack, startDevStack } from './support/dev-process.ts';

type Directive =
  | { kind: 'expect'; statuses: number[] }
  | { kind: 'output'; pattern: RegExp }
  | { kind: 'file'; name: string }
  | { kind: 'config' }
  | { kind: 'skip'; reason: string };

interface Snippet {
  where: string;
  lang: string;
  code: string;
  directive: Directive | undefined;
  problem?: string;
}

const REPO = resolve('.');
const DOCS = ['README.md', ...globSync('docs/*.md').sort(), ...globSync('docs/sdk/*.md').sort()];
const RUNNABLE = new Set(['sh', 'bash', 'shell', 'ts', 'typescript']);

function parseDirective(line: string | undefined): { directive?: Directive; problem?: string } {
  const m = /^<!-- snippet: (.*) -->$/.exec(line?.trim() ?? '');
  if (!m) return {};
  const text = m[1]!.trim();
  const output = /^expect output \/(.+)\/([ims]*)$/.exec(text);
  if (output) return { directive: { kind: 'output', pattern: new RegExp(output[1]!, output[2]) } };
  const expect = /^expect((?: \d{3})+)$/.exec(text);
  if (expect) return { directive: { kind: 'expect', statuses: expect[1]!.trim().split(' ').map(Number) } };
  const file = /^file ([\w.-]+\.ts)$/.exec(text);
  if (file) return { directive: { kind: 'file', name: file[1]! } };
  if (text === 'config') return { directive: { kind: 'config' } };
  const skip = /^skip (\S.{9,})$/.exec(text);
  if (skip) return { directive: { kind: 'skip', reason: skip[1]! } };
  return { problem: `unreadable directive: ${text}` };
}

function extract(file: string): Snippet[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    let before = start - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const { directive, problem } = parseDirective(lines[before]);
    out.push({
      where: `${file}:${start + 1}`,
      lang: open[1]!,
      code: lines.slice(start + 1, end).join('\n'),
      directive,
      ...(problem ? { problem } : {}),
    });
    i = end;
  }
  return out;
}

const snippets = DOCS.flatMap(extract);
const shellSnippets = snippets.filter(
  (s) => (s.lang === 'sh' || s.lang === 'bash') && s.directive && s.directive.kind !== 'skip',
);
const tsFiles = snippets.filter((s) => s.directive?.kind === 'file');

/** YAML documents deep-merged: mappings key by key, lists concatenated. */
function merge(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  }
  return b;
}

test('every shell and TypeScript snippet in the docs says how it is tested', () => {
  const missing = snippets
    .filter((s) => RUNNABLE.has(s.lang) && (s.directive === undefined || s.problem))
    .map((s) => `${s.where}: ${s.problem ?? 'no <!-- snippet: ... --> directive'}`);
  assert.deepEqual(missing, []);
  const misplaced = snippets
    .filter((s) => s.directive?.kind === 'file' && s.lang !== 'ts')
    .concat(snippets.filter((s) => s.directive?.kind === 'config' && s.lang !== 'yaml'))
    .map((s) => s.where);
  assert.deepEqual(misplaced, []);
  // The docs cover the three milestones and every SDK framework page runs a sample.
  assert.ok(
    snippets.some((s) => s.where.startsWith('docs/getting-started.md') && s.directive?.kind === 'expect'),
  );
  for (const page of ['express', 'fastify', 'hono', 'node-http', 'grpc']) {
    assert.ok(
      shellSnippets.some((s) => s.where.startsWith(`docs/sdk/${page}.md`)),
      `docs/sdk/${page}.md runs no sample`,
    );
  }
});

describe('the docs, run against gatehouse dev', { timeout: 600_000 }, () => {
  const scratch = join(REPO, '.gatehouse', `doc-snippets-${process.pid}`);
  let dev: DevStack;
  const rewrite = (text: string) => text.replaceAll('localhost:8080', new URL(dev.origin).host);

  before(async () => {
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(scratch, 'node_modules'));
    symlinkSync(join(REPO, 'examples'), join(scratch, 'examples'));
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    let config: unknown = {};
    for (const s of snippets.filter((x) => x.directive?.kind === 'config'))
      config = merge(config, parseYaml(s.code));
    const configFile = join(scratch, 'gatehouse.yaml');
    writeFileSync(configFile, stringifyYaml(config));
    dev = await startDevStack({ GATEHOUSE_CONFIG: configFile });
    for (const s of tsFiles) {
      writeFileSync(join(scratch, (s.directive as { name: string }).name), rewrite(s.code));
    }
  });
  after(async () => {
    await dev?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('every TypeScript snippet saved as a file type-checks', () => {
    const names = tsFiles.map((s) => (s.directive as { name: string }).name);
    assert.equal(new Set(names).size, names.length, `two snippets share a file name: ${names.join(', ')}`);
    const root = JSON.parse(readFileSync(join(REPO, 'tsconfig.json'), 'utf8')) as { compilerOptions: object };
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: root.compilerOptions, include: names }),
    );
    const r = spawnSync(
      join(REPO, 'node_modules/.bin/tsc'),
      ['--noEmit', '-p', join(scratch, 'tsconfig.json')],
      {
        encoding: 'utf8',
        cwd: scratch,
      },
    );
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  for (const s of shellSnippets) {
    test(`${s.where} answers as written`, () => {
      const statusFile = join(scratch, `status-${s.where.replace(/\W/g, '_')}`);
      writeFileSync(statusFile, '');
      // curl reports each transfer's status on its stderr (kept apart from what the snippet prints),
      // and waits for a service the snippet has just started in the background.
      const prelude = `
curl() { command curl --retry 30 --retry-connrefused --retry-delay 1 --retry-max-time 60 \\
  -w '%{stderr}__status__ %{http_code}\\n' "$@" 2>>"$STATUS_FILE"; }
npx() { if [ "$1" = gatehouse ]; then shift; "$REPO/node_modules/.bin/node" "$REPO/packages/cli/src/bin.ts" "$@";
        else command npx "$@"; fi; }
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null' EXIT
`;
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')),
      );
      const r = spawnSync('bash', ['-c', `${prelude}\n${rewrite(s.code)}\n`], {
        encoding: 'utf8',
        cwd: scratch,
        env: { ...env, NODE_ENV: '', STATUS_FILE: statusFile, REPO },
        timeout: 120_000,
      });
      const curlLog = readFileSync(statusFile, 'utf8');
      const statuses = [...curlLog.matchAll(/^__status__ (\d{3})$/gm)].map((m) => Number(m[1]));
      const context = `\n--- output ---\n${r.stdout}${r.stderr}\n--- curl ---\n${curlLog}`;
      assert.equal(r.status, 0, `exit ${r.status}${context}`);
      const d = s.directive!;
      if (d.kind === 'expect') assert.deepEqual(statuses, d.statuses, `HTTP statuses${context}`);
      if (d.kind === 'output') assert.match(r.stdout, d.pattern, context);
    });
  }
});
