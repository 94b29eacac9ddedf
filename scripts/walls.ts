// The architecture's walls, checked on the import graph the TypeScript compiler itself resolves
// (`tsc --explainFiles`), so workspace links, `exports` maps and type-only imports count exactly as
// they do when the code is built.
//   node scripts/walls.ts          exit 1 and list every crossing
//   node scripts/walls.ts --help
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ImportEdge {
  /** Repository-relative path of the importing file. */
  from: string;
  /** Repository-relative path of the file the compiler resolved the import to. */
  to: string;
  /** The module specifier as written. */
  specifier: string;
}

/** Which packages a package must never import (docs/contracts.md, "Walls"). */
export const forbiddenPackages: Readonly<Record<string, readonly string[]>> = {
  core: ['idp', 'gateway', 'sdk', 'authz', 'cli', 'console'],
  sdk: ['idp', 'gateway', 'cli', 'console'],
  authz: ['idp', 'gateway', 'cli', 'console'],
  gateway: ['idp', 'cli', 'console'],
  idp: ['gateway', 'cli', 'console'],
  console: ['idp', 'gateway', 'cli'],
};

type Zone =
  | { kind: 'package'; name: string; test: boolean }
  | { kind: 'example'; name: string }
  | { kind: 'examples-shared' }
  | { kind: 'bench' }
  | { kind: 'other' };

function zoneOf(path: string): Zone {
  const parts = path.split('/');
  if (parts[0] === 'packages' && parts[1])
    return { kind: 'package', name: parts[1], test: parts[2] === 'test' };
  // The contract every example implements and the kit the examples share (examples/shared) belong
  // to no one example.
  if (parts[0] === 'examples' && (parts.length === 2 || parts[1] === 'shared'))
    return { kind: 'examples-shared' };
  if (parts[0] === 'examples' && parts[1]) return { kind: 'example', name: parts[1] };
  if (parts[0] === 'bench') return { kind: 'bench' };
  return { kind: 'other' };
}

/** The specifiers a package offers: `@gatehouse/<name>` plus each key of its `exports` map. */
export type PublicEntries = (pkg: string) => ReadonlySet<string>;

function readPublicEntries(root: string): PublicEntries {
  const cache = new Map<string, Set<string>>();
  return (pkg) => {
    let entries = cache.get(pkg);
    if (entries === undefined) {
      entries = new Set();
      try {
        const manifest = JSON.parse(readFileSync(`${root}/packages/${pkg}/package.json`, 'utf8')) as {
          name?: string;
          exports?: Record<string, unknown> | string;
        };
        const name = manifest.name ?? `@gatehouse/${pkg}`;
        const keys = typeof manifest.exports === 'object' ? Object.keys(manifest.exports) : ['.'];
        for (const key of keys) entries.add(key === '.' ? name : `${name}/${key.replace(/^\.\//, '')}`);
      } catch {
        // A folder without a manifest offers nothing: every import into it is a crossing.
      }
      cache.set(pkg, entries);
    }
    return entries;
  };
}

/** Every crossing of a wall among the edges, as one readable line each. */
export function checkWalls(edges: readonly ImportEdge[], publicEntries: PublicEntries): string[] {
  const crossings: string[] = [];
  for (const edge of edges) {
    if (edge.to.includes('node_modules/') && !edge.to.startsWith('packages/')) continue;
    const from = zoneOf(edge.from);
    const to = zoneOf(edge.to);
    const at = `${edge.from} imports '${edge.specifier}'`;
    if (
      from.kind === 'package' &&
      (to.kind === 'example' || to.kind === 'examples-shared' || to.kind === 'bench')
    ) {
      crossings.push(`${at}: packages never import examples or bench (register them instead)`);
      continue;
    }
    if (from.kind === 'example' && to.kind === 'example' && from.name !== to.name) {
      crossings.push(`${at}: an example never imports another example`);
      continue;
    }
    if (to.kind !== 'package') continue;
    if (from.kind === 'package' && from.name === to.name) continue;
    // A package's own tests may run other packages (a real idp behind the gateway under test), but
    // only through their public entry points, checked below.
    if (from.kind === 'package' && !from.test && forbiddenPackages[from.name]?.includes(to.name)) {
      crossings.push(`${at}: ${from.name} must not depend on ${to.name}`);
      continue;
    }
    if (from.kind === 'other') continue; // cross-package tests and repository scripts may reach inside
    if (!publicEntries(to.name).has(edge.specifier)) {
      crossings.push(`${at}: use a public entry point of @gatehouse/${to.name}, not its files`);
    }
  }
  return crossings;
}

/**
 * Dependencies whose inside a package relies on, each in one module (or none: nothing may). Only
 * that module may import the dependency's files (`<name>/lib/...`) or name the members below; its
 * tests check each relied-on behaviour against the installed, exactly pinned version.
 */
export const dependencyInternals: ReadonlyArray<{
  dependency: string;
  /** The one file allowed to rely on the dependency's inside, or undefined for none. */
  module: string | undefined;
  /** Which source files are checked for the members (a path prefix). */
  scope: string;
  /** What relying on the inside looks like in source: each a member or a write no documented API has. */
  members: ReadonlyArray<{ pattern: RegExp; what: string }>;
}> = [
  {
    dependency: 'oidc-provider',
    module: 'packages/idp/src/protocol/oidc-provider-internals.ts',
    scope: 'packages/idp/src/',
    members: [
      { pattern: /\bcompareClientSecret\b/, what: 'the client prototype method compareClientSecret' },
      { pattern: /\bClient\.find\s*=(?!=)/, what: 'a replaced Client.find' },
      { pattern: /\.ResourceServer\b/, what: 'the undocumented ResourceServer class' },
      { pattern: /\.entity\(/, what: 'ctx.oidc.entity' },
      { pattern: /\blastSubmission\b|\.result\s*=(?!=)/, what: 'an interaction result written in place' },
      { pattern: /\.destroyed\b/, what: "a session model's destroyed flag" },
      { pattern: /'unsupported_token_type'/, what: 'the refusal of structured tokens' },
      { pattern: /\breq\.body\b/, what: 'a request body handed on in req.body' },
    ],
  },
  {
    dependency: 'prom-client',
    module: undefined,
    scope: 'packages/',
    members: [
      { pattern: /\bhashMap\b/, what: "a metric's private label table" },
      {
        pattern: /\.(?:reset|inc|dec|set|observe|collect|get)\s*=(?!=)/,
        what: 'a replaced metric method',
      },
    ],
  },
];

/** An import of a dependency's own files (`oidc-provider/lib/...`) outside its one module. */
export function checkDependencyImports(edges: readonly ImportEdge[]): string[] {
  const crossings: string[] = [];
  for (const edge of edges) {
    for (const d of dependencyInternals) {
      if (!edge.specifier.startsWith(`${d.dependency}/`) || edge.specifier === `${d.dependency}/package.json`)
        continue;
      if (edge.from === d.module) continue;
      crossings.push(
        `${edge.from} imports '${edge.specifier}': ${d.dependency}'s files are its inside${
          d.module ? ` (only ${d.module} may rely on it)` : ''
        }`,
      );
    }
  }
  return crossings;
}

/**
 * Where a source file names a member of a dependency's inside outside that dependency's one module.
 * A text check, line by line with comments left out: it catches the members as written, not one
 * reached through an alias, which review has to.
 */
export function checkInternalMembers(path: string, source: string): string[] {
  const found: string[] = [];
  if (!/^packages\/[^/]+\/src\//.test(path)) return found;
  const lines = source.split('\n');
  for (const d of dependencyInternals) {
    if (!path.startsWith(d.scope) || path === d.module) continue;
    lines.forEach((line, i) => {
      const code = line.trimStart().startsWith('*') ? '' : line.replace(/(^|\s)\/\/.*$/, '');
      for (const m of d.members) {
        if (m.pattern.test(code)) {
          found.push(
            `${path}:${i + 1} relies on ${d.dependency}'s inside (${m.what})${
              d.module ? `: only ${d.module} may` : ''
            }`,
          );
        }
      }
    });
  }
  return found;
}

function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(`${root}/${dir}`, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(root, path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Parses `tsc --explainFiles`: a file's path on its own line, then its reasons indented below it. */
export function parseExplainFiles(output: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const reason = /^\s+Imported via '([^']+)' from file '([^']+)'/;
  let current: string | undefined;
  for (const line of output.split('\n')) {
    if (line.length === 0) continue;
    if (!/^\s/.test(line)) {
      current = line.trim();
      continue;
    }
    const m = reason.exec(line);
    if (m && current !== undefined && m[1] !== undefined && m[2] !== undefined) {
      edges.push({ from: m[2], to: current, specifier: m[1] });
    }
  }
  return edges;
}

function main(): void {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(`Usage: node scripts/walls.ts

Checks the architecture's walls on the import graph tsc resolves: core imports no service package;
the SDK imports neither idp nor gateway; the gateway never imports the idp; packages never import
examples or bench; an example never imports another; examples and bench import other packages only
through their public entry points (@gatehouse/<name> and its exports); a dependency's inside
(oidc-provider's files and undocumented members, prom-client's) is relied on only in its one
module (dependencyInternals). Exits 1 on any crossing.`);
    return;
  }
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url));
  const r = spawnSync(tsc, ['--noEmit', '-p', 'tsconfig.json', '--explainFiles'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  const edges = parseExplainFiles(r.stdout);
  // An empty graph means tsc's explanation changed shape, not that the tree is clean.
  if (edges.length < 100) {
    console.error(
      `walls: only ${edges.length} imports read from tsc --explainFiles; its output format changed?`,
    );
    process.exit(1);
  }
  const base = root.replace(/\/$/, '');
  const crossings = [...checkWalls(edges, readPublicEntries(base)), ...checkDependencyImports(edges)];
  for (const path of sourceFiles(base, 'packages')) {
    crossings.push(...checkInternalMembers(path, readFileSync(`${base}/${path}`, 'utf8')));
  }
  if (crossings.length > 0) {
    console.error(`walls: ${crossings.length} crossing(s):`);
    for (const c of crossings) console.error(`  ${c}`);
    process.exit(1);
  }
  console.log(`walls: ${edges.length} imports checked, no wall crossed`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
