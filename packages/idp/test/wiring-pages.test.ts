import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import { openTestSql, openTestState, type TestSql, type TestState } from '@gatehouse/core/testing';
import * as idpModule from '../src/index.ts';
import { createIdp, type Idp, idpMigrations } from '../src/index.ts';
import { idpConfig } from './idp-harness.ts';

const THEME = ':root { --gh-accent: #7b1fa2; }';

// createIdp with everything autoloaded, as the CLI starts it: the provider's own pages get the theme.
describe('createIdp wiring of the hosted pages', { timeout: 60_000 }, () => {
  let testSql: TestSql;
  let testState: TestState;
  let server: Server;
  let idp: Idp;
  let issuer: string;

  before(async () => {
    testSql = await openTestSql('pglite', { migrations: [idpMigrations] });
    testState = await openTestState('memory');
    server = createServer((req, res) => {
      if (!idp) res.writeHead(503).end();
      else idp.handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    idp = await createIdp({
      config: idpConfig({ accounts: { theme: THEME } }),
      sql: testSql.sql,
      state: testState.state,
      logger: silentLogger(),
      publicUrl: origin,
    });
    issuer = idp.issuer;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await idp?.close();
    await testState?.cleanup();
    await testSql?.cleanup();
  });

  test('the signed-out page carries the configured theme', async () => {
    const res = await fetch(`${issuer}/session/end/success`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(html.includes(THEME), 'the theme CSS is in the page');
    assert.match(html, /You are signed out\./);
  });

  test('the error page carries the configured theme', async () => {
    const res = await fetch(`${issuer}/auth?client_id=nobody&response_type=code&scope=openid`);
    assert.equal(res.status, 400);
    assert.ok((await res.text()).includes(THEME));
  });

  test('index.ts exports what the CLI needs for admin verbs', () => {
    for (const name of [
      'createIdpAccounts',
      'accountServices',
      'createAudit',
      'resolveAccountsConfig',
      'createSessionStore',
      'attachProviderAudit',
      'upsertClient',
      'listClients',
      'deleteClient',
      'rotateClientSecret',
      'rotateKeys',
      'listKeys',
    ]) {
      assert.equal(typeof (idpModule as Record<string, unknown>)[name], 'function', name);
    }
  });
});
