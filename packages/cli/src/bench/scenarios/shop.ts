import type { Scenario, Step, UserFlow } from '../scenario.ts';
import {
  benchAccount,
  idOf,
  listIn,
  sessionLogin,
  sessionRegister,
  sessionWhoami,
} from '../session-steps.ts';
import { StepFailedError } from '../step-errors.ts';

/**
 * The e-commerce reference system (`examples/shop`): each virtual user registers its own account
 * once, then loops: log in, whoami, list products, buy one, list its orders.
 */
export const shopScenario: Scenario = {
  name: 'shop',
  summary: 'register once per user, then log in, whoami, list products, buy, list orders',
  async prepare(http, options) {
    const notes =
      options.accounts === 'register'
        ? [
            'each user registers its own account; the identity provider limits registrations per source address (idp.accounts.registrationsPerHour, default 20): raise it for runs over 20 users, or use --accounts login',
          ]
        : [`every user logs in as ${options.login.username}`];
    notes.push(
      "the shop's routes limit each client address to 20 requests a minute (bursts of 40) and 40 in flight, as in the original: start the target with SHOP_LIMITS=off to measure without them",
    );
    const probe = await http.request('GET', '/products', { expect: 'any' }).catch((err: Error) => err);
    if (probe instanceof Error || probe.status === 404) {
      notes.push(
        `GET /products answered ${probe instanceof Error ? probe.message : 404}: examples/shop does not seem to run behind this target; its steps will count as errors`,
      );
    }
    return {
      notes,
      createUser(ctx): UserFlow {
        const { http } = ctx;
        const account =
          options.accounts === 'register' ? benchAccount(ctx.runId, ctx.users, ctx.index) : options.login;
        let productId: string | undefined;
        const setup: Step[] =
          options.accounts === 'register'
            ? [
                {
                  service: 'auth',
                  name: 'registration',
                  run: () => sessionRegister(http, account.username, account.password),
                },
              ]
            : [];
        const steps: Step[] = [
          {
            service: 'auth',
            name: 'login',
            role: 'login',
            run: () => sessionLogin(http, account.username, account.password),
          },
          { service: 'auth', name: 'whoami', run: () => sessionWhoami(http, account.username) },
          {
            service: 'products',
            name: 'list products',
            async run() {
              const res = await http.request('GET', '/products');
              const products = listIn(res.json(), 'products') ?? [];
              const ids = products.map(idOf).filter((id) => id !== undefined);
              productId = ids.length > 0 ? ids[(ctx.index + ids.length) % ids.length] : undefined;
            },
          },
          {
            service: 'products',
            name: 'buy',
            async run() {
              if (productId === undefined) throw new StepFailedError('no product to buy');
              await http.request('POST', `/products/${encodeURIComponent(productId)}/buy`, {
                json: { quantity: 1 },
              });
            },
          },
          {
            service: 'orders',
            name: 'list orders',
            async run() {
              const res = await http.request('GET', '/orders');
              if (listIn(res.json(), 'orders') === undefined) throw new StepFailedError('orders not a list');
            },
          },
        ];
        return { setup, steps };
      },
    };
  },
};
