import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  openTestSql,
  openTestState,
  skipUnlessService,
  type TestSql,
  type TestState,
} from '@gatehouse/core/testing';
import { type Accounts, createAccounts } from '../src/accounts/accounts.ts';
import { resolveAccountsConfig } from '../src/accounts/accounts-config.ts';
import { seedDemoAccounts } from '../src/accounts/demo-accounts.ts';
import { createPasswordHasher } from '../src/accounts/passwords.ts';
import { createAudit } from '../src/audit/audit.ts';

const migrations = [{ component: 'idp', dir: new URL('../migrations/', import.meta.url) }];
const source = { ip: '192.0.2.1', via: 'test' };

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: { code?: string }) => {
    assert.equal(err.code, code);
    return true;
  });
}

for (const kind of ['pglite', 'postgres'] as const) {
  describe(`accounts [${kind}]`, { skip: await skipUnlessService(kind) }, () => {
    let db: TestSql;
    let st: TestState;
    let accounts: Accounts;

    before(async () => {
      db = await openTestSql(kind, { migrations });
      st = await openTestState('memory');
      accounts = createAccounts(db.sql, {
        config: resolveAccountsConfig({ bruteForce: { enabled: false } }),
        state: st.state,
        audit: createAudit(db.sql),
      });
      await seedDemoAccounts(accounts);
    });
    after(async () => {
      await st?.cleanup();
      await db?.cleanup();
    });

    test('demo accounts log in with their documented passwords and roles', async () => {
      const alice = await accounts.authenticate('alice', 'alice-password', source);
      assert.deepEqual(alice.roles, ['admin', 'user']);
      const bob = await accounts.authenticate('bob', 'bob-password', source);
      assert.deepEqual(bob.roles, ['user']);
    });

    test('seeding twice creates nothing new', async () => {
      assert.deepEqual(await seedDemoAccounts(accounts), []);
    });

    test('usernames are unique case-insensitively and after NFKC', async () => {
      await rejectsWith(
        accounts.create({ username: 'ALICE', password: 'a-long-unusual-phrase' }),
        'IDP_USERNAME_TAKEN',
      );
      // Full-width letters fold to plain ASCII under NFKC.
      await rejectsWith(
        accounts.create({ username: '\uff41\uff4c\uff49\uff43\uff45', password: 'a-long-unusual-phrase' }),
        'IDP_USERNAME_TAKEN',
      );
      const login = await accounts.authenticate('Alice', 'alice-password', source);
      assert.equal(login.username, 'alice');
    });

    test('a mixed-script look-alike username is refused', async () => {
      await rejectsWith(
        accounts.create({ username: '\u0430lice', password: 'a-long-unusual-phrase' }),
        'IDP_USERNAME_INVALID',
      );
    });

    test('passwords breaking the NIST rules are refused with their own codes', async () => {
      await rejectsWith(accounts.create({ username: 'carol', password: 'short' }), 'IDP_PASSWORD_TOO_SHORT');
      await rejectsWith(
        accounts.create({ username: 'carol', password: 'x'.repeat(129) }),
        'IDP_PASSWORD_TOO_LONG',
      );
      await rejectsWith(
        accounts.create({ username: 'carol', password: 'Password123' }),
        'IDP_PASSWORD_COMMON',
      );
      await rejectsWith(
        accounts.create({ username: 'carol', password: 'my-carol-phrase' }),
        'IDP_PASSWORD_CONTAINS_USERNAME',
      );
      assert.equal(await accounts.getByUsername('carol'), undefined);
    });

    test('no composition rule: a long all-lower-case passphrase is accepted', async () => {
      const dave = await accounts.create({
        username: 'dave',
        password: 'correct horse battery staple',
        email: 'dave@example.com',
      });
      assert.equal(dave.username, 'dave');
      assert.equal((await accounts.authenticate('dave', 'correct horse battery staple', source)).id, dave.id);
    });

    test('an email address is unique', async () => {
      await rejectsWith(
        accounts.create({ username: 'dave2', password: 'another unusual phrase', email: 'DAVE@example.com' }),
        'IDP_EMAIL_TAKEN',
      );
    });

    test('a wrong password and an unknown user get the same error', async () => {
      await rejectsWith(accounts.authenticate('alice', 'wrong-password', source), 'IDP_INVALID_CREDENTIALS');
      await rejectsWith(
        accounts.authenticate('nobody-here', 'wrong-password', source),
        'IDP_INVALID_CREDENTIALS',
      );
    });

    test('an unknown user costs one argon2 verification, like a known one', async () => {
      const calls: string[] = [];
      const real = createPasswordHasher();
      const spy = createAccounts(db.sql, {
        config: resolveAccountsConfig({ bruteForce: { enabled: false } }),
        state: st.state,
        audit: createAudit(db.sql),
        hasher: {
          ...real,
          verify: (stored, password) => {
            calls.push('verify');
            return real.verify(stored, password);
          },
          verifyDummy: (password) => {
            calls.push('dummy');
            return real.verifyDummy(password);
          },
        },
      });
      await rejectsWith(
        spy.authenticate('no-such-person', 'some-password', source),
        'IDP_INVALID_CREDENTIALS',
      );
      await rejectsWith(spy.authenticate('alice', 'some-password', source), 'IDP_INVALID_CREDENTIALS');
      assert.deepEqual(calls, ['dummy', 'verify']);
    });

    test('a disabled user cannot log in and is invisible to oidc-provider', async () => {
      const erin = await accounts.create({ username: 'erin', password: 'quiet river at dusk' });
      await accounts.update(erin.id, { enabled: false });
      await rejectsWith(
        accounts.authenticate('erin', 'quiet river at dusk', source),
        'IDP_INVALID_CREDENTIALS',
      );
      assert.equal(await accounts.findAccount(undefined, erin.id), undefined);
    });

    test('roles through a group add to direct roles in findAccount claims', async () => {
      const frank = await accounts.create({ username: 'frank', password: 'purple lantern meadow' });
      await accounts.roles.create('auditor');
      await accounts.roles.createGroup('compliance');
      await accounts.roles.addGroupRole('compliance', 'auditor');
      await accounts.roles.addMember('compliance', frank.id);
      await accounts.roles.assign(frank.id, 'user');
      const found = await accounts.findAccount(undefined, frank.id);
      assert.ok(found);
      assert.deepEqual(found.roles, ['auditor', 'user']);
      const claims = await found.claims('userinfo', 'openid profile');
      assert.equal(claims['sub'], frank.id);
      assert.equal(claims['preferred_username'], 'frank');
      assert.deepEqual(claims['roles'], ['auditor', 'user']);
    });

    test('a login and a lookup return direct roles, groups and effective roles; none is an empty list', async () => {
      const heidi = await accounts.create({ username: 'heidi', password: 'amber kettle whistles' });
      assert.deepEqual([heidi.roles, heidi.directRoles, heidi.groups], [[], [], []]);
      await accounts.roles.create('reviewer');
      await accounts.roles.createGroup('editors');
      await accounts.roles.addGroupRole('editors', 'reviewer');
      await accounts.roles.addMember('editors', heidi.id);
      await accounts.roles.assign(heidi.id, 'user');
      const loggedIn = await accounts.authenticate('heidi', 'amber kettle whistles', source);
      assert.deepEqual(
        [loggedIn.roles, loggedIn.directRoles, loggedIn.groups],
        [['reviewer', 'user'], ['user'], ['editors']],
      );
      assert.deepEqual(await accounts.get(heidi.id), loggedIn);
      assert.deepEqual(await accounts.getByUsername('HEIDI'), loggedIn);
    });

    test('within one request an account is read once; the next request sees it disabled', async () => {
      const ivan = await accounts.create({ username: 'ivan', password: 'copper fern lantern' });
      const request = {};
      const first = await accounts.findAccount(request, ivan.id);
      assert.ok(first);
      await accounts.update(ivan.id, { enabled: false });
      assert.equal(await accounts.findAccount(request, ivan.id), first);
      assert.equal(await accounts.findAccount({}, ivan.id), undefined);
      assert.equal(await accounts.findAccount(undefined, ivan.id), undefined);
    });

    test('assigning a role that does not exist is refused', async () => {
      const alice = await accounts.getByUsername('alice');
      await rejectsWith(accounts.roles.assign(alice!.id, 'no-such-role'), 'IDP_NOT_FOUND');
    });

    test('findAccount of a malformed or unknown id is undefined', async () => {
      assert.equal(await accounts.findAccount(undefined, 'not-a-uuid'), undefined);
      assert.equal(await accounts.findAccount(undefined, '00000000-0000-4000-8000-000000000000'), undefined);
    });

    test('a hash made with weaker parameters is replaced at the next login', async () => {
      const weak = createPasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
      const grace = await accounts.create({ username: 'grace', password: 'seven silent owls fly' });
      await db.sql.query('update idp_users set password_hash = $2 where id = $1', [
        grace.id,
        await weak.hash('seven silent owls fly'),
      ]);
      await accounts.authenticate('grace', 'seven silent owls fly', source);
      const [row] = await db.sql.query<{ password_hash: string }>(
        'select password_hash from idp_users where id = $1',
        [grace.id],
      );
      assert.match(row!.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    });
  });
}
