import type { Accounts } from './accounts.ts';

/**
 * Development fixtures: `alice` / `alice-password` (roles admin, user) and `bob` /
 * `bob-password` (role user). The CLI seeds them only in development mode; production refuses demo
 * fixtures. Their passwords would pass the length rule but are exactly the kind a blocklist exists
 * for, so seeding skips the common-password check — which is why this must never run in production.
 */
export const DEMO_ACCOUNTS = [
  { username: 'alice', password: 'alice-password', email: 'alice@example.com', roles: ['admin', 'user'] },
  { username: 'bob', password: 'bob-password', email: 'bob@example.com', roles: ['user'] },
] as const;

/** Create the demo roles and users that do not exist yet; returns the usernames created. */
export async function seedDemoAccounts(accounts: Accounts): Promise<string[]> {
  await accounts.roles.ensure('admin', 'Administers Gatehouse');
  await accounts.roles.ensure('user', 'A signed-in person');
  const created: string[] = [];
  for (const demo of DEMO_ACCOUNTS) {
    if (await accounts.getByUsername(demo.username)) continue;
    try {
      await accounts.create(
        { username: demo.username, password: demo.password, email: demo.email, roles: [...demo.roles] },
        { allowCommonPassword: true, actor: 'demo-seed' },
      );
      created.push(demo.username);
    } catch (err) {
      // Another replica seeded it between our check and insert.
      if ((err as { code?: string }).code !== 'IDP_USERNAME_TAKEN') throw err;
    }
  }
  return created;
}
