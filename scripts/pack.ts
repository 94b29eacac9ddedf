// `npm run pack`: an npm tarball for every public workspace package, ready to publish.
//
// In the repository each package's `exports` point at its TypeScript sources, which the workspace runs
// directly. A published package holds JavaScript, declarations and source maps instead. So each
// package is compiled (its tsconfig.build.json) into a staging folder, given a package.json whose
// `exports` and `bin` point at dist/, and that folder is packed. Nothing in the working tree changes.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

export interface PackedPackage {
  name: string;
  version: string;
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Paths inside the tarball, relative to its package folder. */
  files: string[];
}

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  exports?: Record<string, string>;
  bin?: Record<string, string>;
  files?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  workspaces?: string[];
  [key: string]: unknown;
}

const root = resolve(import.meta.dirname, '..');

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** The public packages, in the order the root package.json lists the workspaces. */
export function publicPackageDirs(): string[] {
  return (readManifest(root).workspaces ?? [])
    .map((w) => join(root, w))
    .filter((dir) => readManifest(dir).private !== true);
}

/** `./src/a/b.ts` → `./dist/a/b` (the caller adds `.js` or `.d.ts`). */
function compiledPath(source: string, field: string): string {
  const m = /^\.\/src\/(.+)\.ts$/.exec(source);
  if (!m)
    throw new Error(`${field}: "${source}" is not a ./src/*.ts path; the pack step cannot map it to dist/`);
  return `./dist/${m[1]}`;
}

/** The package.json that goes into the tarball: the same package, pointing at dist/. */
export function publishedManifest(manifest: Manifest, publicNames: Set<string>): Manifest {
  const out: Manifest = { ...manifest };
  delete out.devDependencies;
  delete out.scripts;
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    // A @gatehouse dependency that is not packed here would be fetched from the registry instead.
    if (dep.startsWith('@gatehouse/') && !publicNames.has(dep))
      throw new Error(`${manifest.name} depends on ${dep}, which is not a public package of this repository`);
  }
  if (manifest.exports) {
    out.exports = Object.fromEntries(
      Object.entries(manifest.exports).map(([key, source]) => {
        const base = compiledPath(source, `${manifest.name} exports["${key}"]`);
        return [key, { types: `${base}.d.ts`, import: `${base}.js` }];
      }),
    ) as unknown as Record<string, string>;
  }
  if (manifest.bin) {
    out.bin = Object.fromEntries(
      Object.entries(manifest.bin).map(([name, source]) => [
        name,
        `${compiledPath(source, `${manifest.name} bin["${name}"]`)}.js`,
      ]),
    );
  }
  return out;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/**
 * tsc writes paths in maps relative to where it emitted (the staging folder) and keeps `.ts` in the
 * relative imports of declarations. Point the maps at the package's own copy of its sources, and the
 * declarations at the `.js` files that exist next to them (same length: map positions stay right).
 */
function fixEmittedFiles(packageDir: string, stageDir: string): void {
  for (const file of walk(join(stageDir, 'dist'))) {
    if (file.endsWith('.map')) {
      const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourceRoot?: string };
      map.sources = map.sources.map((s) => {
        const original = resolve(dirname(file), map.sourceRoot ?? '', s);
        const inPackage = relative(packageDir, original);
        if (inPackage.startsWith('..') || !inPackage.startsWith(`src${sep}`))
          throw new Error(`${file}: source ${s} is outside ${packageDir}/src`);
        return relative(dirname(file), join(stageDir, inPackage)).split(sep).join('/');
      });
      map.sourceRoot = '';
      writeFileSync(file, JSON.stringify(map));
    } else if (file.endsWith('.d.ts')) {
      const text = readFileSync(file, 'utf8');
      writeFileSync(
        file,
        text.replace(/((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2'),
      );
    }
  }
}

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Compile, stage and pack one package. */
function packOne(packageDir: string, outDir: string, publicNames: Set<string>): PackedPackage {
  const manifest = readManifest(packageDir);
  const stageDir = join(outDir, 'stage', manifest.name.replace('/', '+'));
  rmSync(stageDir, { recursive: true, force: true });
  mkdirSync(stageDir, { recursive: true });

  run(
    join(root, 'node_modules/.bin/tsc'),
    ['-p', join(packageDir, 'tsconfig.build.json'), '--outDir', join(stageDir, 'dist')],
    root,
  );
  for (const entry of manifest.files ?? []) {
    if (entry === 'dist') continue;
    const from = entry === 'LICENSE' && !existsSync(join(packageDir, entry)) ? root : packageDir;
    if (!existsSync(join(from, entry)))
      throw new Error(`${manifest.name}: "files" names ${entry}, which is missing`);
    cpSync(join(from, entry), join(stageDir, entry), { recursive: true });
  }
  fixEmittedFiles(packageDir, stageDir);
  writeFileSync(
    join(stageDir, 'package.json'),
    `${JSON.stringify(publishedManifest(manifest, publicNames), null, 2)}\n`,
  );

  const out = run(
    'npm',
    ['pack', stageDir, '--pack-destination', outDir, '--json', '--ignore-scripts'],
    root,
  );
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack ${stageDir} printed no result`);
  return {
    name: manifest.name,
    version: manifest.version,
    tarball: join(outDir, info.filename),
    files: info.files.map((f) => f.path).sort(),
  };
}

/** Pack every public package into `outDir`; writes `outDir/packages.json` describing the tarballs. */
export function packAll(outDir: string, log: (line: string) => void = () => {}): PackedPackage[] {
  mkdirSync(outDir, { recursive: true });
  const dirs = publicPackageDirs();
  const publicNames = new Set(dirs.map((d) => readManifest(d).name));
  const packed: PackedPackage[] = [];
  for (const dir of dirs) {
    const started = Date.now();
    const p = packOne(dir, outDir, publicNames);
    log(
      `packed ${p.name}@${p.version}: ${p.files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s → ${p.tarball}`,
    );
    packed.push(p);
  }
  writeFileSync(join(outDir, 'packages.json'), `${JSON.stringify(packed, null, 2)}\n`);
  return packed;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(`Usage: npm run pack [-- --out DIR]

Compiles every public package (tsc, its tsconfig.build.json) and packs it with npm pack into DIR
(default .pack/), with DIR/packages.json listing each tarball and its files. Publish the tarballs
with npm publish <tarball> (docs/releasing.md).`);
    process.exit(0);
  }
  const outDir = resolve(values.out ?? join(root, '.pack'));
  packAll(outDir, (line) => console.log(line));
}
