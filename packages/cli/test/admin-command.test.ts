import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger, openSql, openState } from '@gatehouse/core';
import { clientSecretMatches, createAudit, createIdpAccounts, findClient } from '@gatehouse/idp';

const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));

/** The bootstrap verbs against embedded storage, in development and in production mode. */
for (const mode of ['development', 'production'] as const) {
  describe(`gatehouse admin (${mode})`, () => {
    const dir = mkdtempSync(join(tmpdir(), `gh-admin-${mode}-`));
    const dataDir = join(dir, 'data');
    const env: Record<string, string | undefined> = {
      ...cleanEnv,
      NODE_ENV: '',
      GATEHOUSE_STORAGE__DATA_DIR: dataDir,
      GATEHOUSE_LOG__LEVEL: 'warn',
      ...(mode === 'production'
        ? {
            GATEHOUSE_MODE: 'production',
            GATEHOUSE_SERVER__PUBLIC_URL: 'https://id.example.com',
            GATEHOUSE_IDP__KEY_ENCRYPTION_SECRET: 'a-production-secret-of-at-least-32-chars',
          }
        : {}),
    };
    after(() => rmSync(dir, { recursive: true, force: true }));

    function gatehouse(args: string[], extra: Record<string, string> = {}) {
      const r = spawnSync(process.execPath, [bin, 'admin', ...args], {
        encoding: 'utf8',
        env: { ...env, ...extra },
        cwd: dir,
        // Each run opens the embedded database and migrates it: slow on a loaded machine.
        timeout: 240_000,
      });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    async function withStorage<T>(fn: (sql: Awaited<ReturnType<typeof openSql>>) => Promise<T>): Promise<T> {
      const sql = await openSql({ driver: 'pglite', dataDir });
      try {
        return await fn(sql);
      } finally {
        await sql.close();
      }
    }

    test('create-user --role admin makes the first admin, who can sign in, and the change is audited', async () => {
      const passwordFile = join(dir, 'password');
      writeFileSync(passwordFile, 'correct horse battery staple\n');
      const r = gatehouse([
        'create-user',
        '--username',
        'root',
        '--role',
        'admin',
        '--password-file',
        passwordFile,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^created user root \([0-9a-f-]{36}\) with roles admin$/m);
      assert.doesNotMatch(r.stdout, /password/);
      await withStorage(async (sql) => {
        const state = await openState({ driver: 'memory' });
        const logger = createLogger({ level: 'silent' });
        const accounts = createIdpAccounts({ sql, state, logger });
        const root = await accounts.authenticate('root', 'correct horse battery staple', {
          via: 'session-api',
          ip: '127.0.0.1',
        });
        assert.deepEqual(root.roles, ['admin']);
        const events = await createAudit(sql).query({ type: 'admin.change', subject: root.id });
        assert.equal(events[0]?.actor, `cli:${userInfo().username}`);
        assert.equal((events[0]!.details as { action: string }).action, 'user.create');
        await state.close();
      });
    });

    test('create-user without a password prints a generated one once', () => {
      const r = gatehouse(['create-user', '--username', 'second', '--role', 'admin']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^password \(shown once\): [A-Za-z0-9_-]{24}$/m);
    });

    test('create-user for a name that exists changes nothing and says why', () => {
      const r = gatehouse(['create-user', '--username', 'root'], {
        GATEHOUSE_ADMIN_PASSWORD: 'another long password',
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^gatehouse admin: IDP_/m);
    });

    test('create-client --role admin makes a robot whose printed secret is the stored one, audited', async () => {
      const r = gatehouse(['create-client', '--client-id', 'ops-robot', '--role', 'admin', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const { clientId, clientSecret } = JSON.parse(r.stdout) as { clientId: string; clientSecret: string };
      assert.equal(clientId, 'ops-robot');
      await withStorage(async (sql) => {
        const stored = await findClient(sql, 'ops-robot');
        assert.deepEqual(stored?.grant_types, ['client_credentials']);
        assert.deepEqual(stored?.roles, ['admin']);
        assert.ok(clientSecretMatches(clientSecret, stored!.client_secret!));
        const events = await createAudit(sql).query({ type: 'admin.change', subject: 'ops-robot' });
        assert.equal((events[0]!.details as { action: string }).action, 'client.create');
      });
    });

    test('create-client with a bad redirect URI is refused naming the field', () => {
      const r = gatehouse(['create-client', '--client-id', 'web', '--public', '--redirect-uri', 'not a url']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /redirectUris\.0: must be a valid URL/);
    });

    test('create-console-client makes the console a public PKCE client on the public URL, audited', async () => {
      const r = gatehouse(['create-console-client', '--json'], {
        GATEHOUSE_IDP__MFA__REQUIRED_ROLES: '[admin]',
      });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { clientId: 'gatehouse-console' });
      const site = mode === 'production' ? 'https://id.example.com' : 'http://localhost:8080';
      await withStorage(async (sql) => {
        const stored = await findClient(sql, 'gatehouse-console');
        assert.equal(stored?.token_endpoint_auth_method, 'none');
        assert.equal(stored?.client_secret, undefined);
        assert.deepEqual(stored?.grant_types, ['authorization_code']);
        assert.deepEqual(stored?.redirect_uris, [`${site}/_gatehouse/bff/callback`]);
        // The MFA policy asks a second factor of admins: the console's sign-ins need one.
        assert.deepEqual(stored?.default_acr_values, ['urn:gatehouse:acr:mfa']);
        const events = await createAudit(sql).query({ type: 'admin.change', subject: 'gatehouse-console' });
        assert.equal((events[0]!.details as { action: string }).action, 'client.create');
      });
      const again = gatehouse(['create-console-client', '--client-id', 'other']);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /--client-id is not for create-console-client/);
    });

    test('a flag of the other action is refused', () => {
      const r = gatehouse(['create-user', '--username', 'x', '--client-id', 'y']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--client-id is for create-client/);
    });
  });
}
