import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configurationDoc, errorsDoc } from '../scripts/docs.ts';

test('docs/configuration.md matches the configuration schema (regenerate: node scripts/docs.ts)', () => {
  assert.equal(readFileSync('docs/configuration.md', 'utf8'), configurationDoc());
});

test('docs/errors.md lists every error code of every catalog (regenerate: node scripts/docs.ts)', async () => {
  assert.equal(readFileSync('docs/errors.md', 'utf8'), await errorsDoc());
});

test('every file SECURITY.md names as a defence or a test exists', () => {
  const text = readFileSync('SECURITY.md', 'utf8');
  const rows = text.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| ---'));
  const named = new Set<string>();
  for (const row of rows) {
    const cells = row.split(' | ');
    // Columns 3 and 4 of the threat tables: "where" and "tests", each a list of `file` names.
    for (const cell of cells.slice(2, 4)) {
      for (const [, name] of cell.matchAll(/`([\w./-]+\.ts)`/g)) named.add(name!);
    }
  }
  assert.ok(named.size > 30, `only ${named.size} files found: did the tables change shape?`);
  const everyFile = [...listFiles('packages'), ...listFiles('test'), ...listFiles('examples')];
  const missing = [...named].filter((name) => {
    // A name is a path from the repository root, or a file name (a `*` stands for any part).
    if (name.includes('/') && everyFile.includes(name)) return false;
    const pattern = new RegExp(`(^|/)${name.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`);
    return !everyFile.some((file) => pattern.test(file));
  });
  assert.deepEqual(missing, []);
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.parentPath.includes('node_modules'))
    .map((entry) => `${entry.parentPath}/${entry.name}`);
}

test('docs/configuration.md lists every field of a client (idp.clients[])', async () => {
  const { idpClientConfigSchema } = await import('@gatehouse/idp/config-schema');
  const text = readFileSync('docs/configuration.md', 'utf8');
  const missing = Object.keys(idpClientConfigSchema.properties).filter(
    (field) => !text.includes(`| \`idp.clients[].${field}\` |`),
  );
  assert.deepEqual(missing, []);
});
