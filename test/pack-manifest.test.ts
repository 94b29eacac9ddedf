// The package.json that `npm run pack` puts in each tarball (scripts/pack.ts): the same package,
// pointing at compiled files, without what only the workspace needs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publicPackageDirs, publishedManifest } from '../scripts/pack.ts';

const publicNames = new Set(['@gatehouse/core', '@gatehouse/sdk']);

test('exports and bin point at dist/: types and import per entry point', () => {
  const out = publishedManifest(
    {
      name: '@gatehouse/sdk',
      version: '1.2.3',
      exports: { '.': './src/index.ts', './express': './src/guards/express.ts' },
      bin: { gatehouse: './src/bin.ts' },
    },
    publicNames,
  );
  assert.deepEqual(out.exports, {
    '.': { types: './dist/index.d.ts', import: './dist/index.js' },
    './express': { types: './dist/guards/express.d.ts', import: './dist/guards/express.js' },
  });
  assert.deepEqual(out.bin, { gatehouse: './dist/bin.js' });
});

test('scripts and devDependencies stay behind; dependencies and peers go along', () => {
  const out = publishedManifest(
    {
      name: '@gatehouse/sdk',
      version: '1.2.3',
      scripts: { prepack: 'exit 1' },
      dependencies: { jose: '^6.0.0', '@gatehouse/core': '^1.2.3' },
      peerDependencies: { express: '^5.0.0' },
      devDependencies: { express: '^5.0.0' },
    },
    publicNames,
  );
  assert.equal(out.scripts, undefined);
  assert.equal(out.devDependencies, undefined);
  assert.deepEqual(out.dependencies, { jose: '^6.0.0', '@gatehouse/core': '^1.2.3' });
  assert.deepEqual(out.peerDependencies, { express: '^5.0.0' });
});

test('a dependency on a @gatehouse package that is not packed is refused (the registry would supply it)', () => {
  assert.throws(
    () =>
      publishedManifest(
        { name: '@gatehouse/cli', version: '1.2.3', dependencies: { '@gatehouse/authz': '^1.2.3' } },
        publicNames,
      ),
    /depends on @gatehouse\/authz, which is not a public package/,
  );
});

test('an export that is not a ./src/*.ts file is refused rather than published broken', () => {
  assert.throws(
    () =>
      publishedManifest(
        { name: '@gatehouse/sdk', version: '1', exports: { '.': './lib/index.js' } },
        publicNames,
      ),
    /exports\["\."\]: "\.\/lib\/index\.js" is not a \.\/src\/\*\.ts path/,
  );
});

test('the public packages are the six that are not private', () => {
  assert.deepEqual(
    publicPackageDirs().map((d) => d.split('/').at(-1)),
    ['core', 'idp', 'gateway', 'authz', 'sdk', 'cli'],
  );
});
