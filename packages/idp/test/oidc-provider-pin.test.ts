import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import Provider, { errors } from 'oidc-provider';

// The idp wraps members of oidc-provider that are not documented extension points
// (`Client.find` for the client instance cache, the client prototype's secret comparison, the
// token route's path for grouped writes). They were written against one version: the dependency
// is pinned exactly, and this test fails the moment another version is installed, so an upgrade
// is a decision with its tests re-read, not an accident of `npm install`.
const require = createRequire(import.meta.url);
const PINNED = '9.13.3';

test('oidc-provider is the exact version the idp was written against, pinned as such', () => {
  const installed = (require('oidc-provider/package.json') as { version: string }).version;
  assert.equal(installed, PINNED);
  const idp = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  assert.equal(idp.dependencies['oidc-provider'], PINNED, 'pinned exactly, not as a range');
});

test('the members the idp wraps are where it expects them', () => {
  const provider = new Provider('http://localhost:3000', {});
  assert.equal(typeof provider.Client.find, 'function');
  assert.equal(typeof provider.Client.validate, 'function');
  assert.equal(typeof provider.Grant, 'function');
  for (const name of [
    'InvalidClientMetadata',
    'InvalidClientAuth',
    'InvalidToken',
    'InvalidGrant',
  ] as const) {
    assert.equal(typeof errors[name], 'function', name);
  }
});
