import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import { openTestSql, openTestState, type TestSql, type TestState } from '@gatehouse/core/testing';
import { createAudit } from '../src/audit/audit.ts';
import { createDirectoryService } from '../src/directory/directory-service.ts';
import { idpMigrations } from '../src/index.ts';
import {
  BASE_DN,
  person,
  READER_DN,
  READER_PASSWORD,
  type Slapd,
  slapdSkip,
  startSlapd,
} from './slapd-harness.ts';

// Directory passwords cross the network only inside TLS: LDAPS and StartTLS against a slapd that
// refuses any bind without TLS, and a certificate from an unknown CA refused.
const skip = slapdSkip();

describe('LDAP directory over TLS (slapd with security tls=1)', { skip, timeout: 120_000 }, () => {
  let slapd: Slapd;
  let db: TestSql;
  let state: TestState;
  before(async () => {
    slapd = await startSlapd(person('tess', 'tess-directory-password'), { tls: true });
    db = await openTestSql('pglite', { migrations: [idpMigrations] });
    state = await openTestState('memory');
  });
  after(async () => {
    await slapd?.close();
    await state?.cleanup();
    await db?.cleanup();
  });

  async function signIn(directory: Record<string, unknown>) {
    const service = createDirectoryService({
      config: {
        enabled: true,
        bindDn: READER_DN,
        bindPassword: READER_PASSWORD,
        userSearch: { base: `ou=people,${BASE_DN}` },
        groups: { mode: 'none' },
        timeoutMs: 3000,
        connectTimeoutMs: 2000,
        ...directory,
      },
      sql: db.sql,
      state: state.state,
      audit: createAudit(db.sql),
      logger: silentLogger(),
      schedule: false,
    })!;
    try {
      return await service.passwords.signIn('tess', 'tess-directory-password');
    } finally {
      await service.close();
    }
  }

  test('ldaps:// with the directory CA signs the person in', async () => {
    const verdict = await signIn({ url: slapd.ldapsUrl, tls: { caFile: slapd.caFile } });
    assert.equal(verdict.outcome, 'signed-in');
  });

  test('ldap:// with StartTLS signs the person in', async () => {
    const verdict = await signIn({ url: slapd.url, startTls: true, tls: { caFile: slapd.caFile } });
    assert.equal(verdict.outcome, 'signed-in');
  });

  test('ldap:// without StartTLS is refused by the directory: IDP_DIRECTORY_UNAVAILABLE', async () => {
    await assert.rejects(signIn({ url: slapd.url }), { code: 'IDP_DIRECTORY_UNAVAILABLE' });
  });

  test('a certificate from a CA the identity provider does not trust is refused, over LDAPS and StartTLS', async () => {
    await assert.rejects(signIn({ url: slapd.ldapsUrl }), { code: 'IDP_DIRECTORY_UNAVAILABLE' });
    await assert.rejects(signIn({ url: slapd.url, startTls: true }), { code: 'IDP_DIRECTORY_UNAVAILABLE' });
  });

  test('a certificate for another name is refused', async () => {
    await assert.rejects(
      signIn({ url: slapd.ldapsUrl, tls: { caFile: slapd.caFile, serverName: 'ldap.example.org' } }),
      {
        code: 'IDP_DIRECTORY_UNAVAILABLE',
      },
    );
  });
});
