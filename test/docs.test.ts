import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configurationDoc, errorsDoc } from '../scripts/docs.ts';

test('docs/configuration.md matches the configuration schema (regenerate: node scripts/docs.ts)', () => {
  assert.equal(readFileSync('docs/configuration.md', 'utf8'), configurationDoc());
});

test('docs/errors.md lists every error code of every catalog (regenerate: node scripts/docs.ts)', async () => {
  assert.equal(readFileSync('docs/errors.md', 'utf8'), await errorsDoc());
});
