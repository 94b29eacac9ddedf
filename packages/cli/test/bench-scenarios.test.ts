import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { LevelResult } from '../src/bench/engine.ts';
import { runBench } from '../src/bench/run-bench.ts';
import type { Scenario, ScenarioOptions } from '../src/bench/scenario.ts';
import { partscoderScenario } from '../src/bench/scenarios/partscoder.ts';
import { shopScenario } from '../src/bench/scenarios/shop.ts';
import { tokensScenario } from '../src/bench/scenarios/tokens.ts';

/**
 * A stand-in for `gatehouse dev`: discovery, an authorization endpoint that sends the browser to a
 * login form and a consent form (with hidden fields and a same-origin check, like the idp's), a
 * token endpoint with client credentials, code + PKCE and rotating refresh tokens, the session API
 * and the shop's routes.
 */
let server: Server;
let port: number;
const interactions = new Map<
  string,
  { state: string; challenge: string; redirectUri: string; user?: string }
>();
const codes = new Map<string, string>();
const refreshTokens = new Set<string>();
const sessions = new Map<string, string>();
const accounts = new Map<string, string>([['alice', 'alice-password']]);
const orders = new Map<string, string[]>();
let counter = 0;

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

function send(
  res: ServerResponse,
  status: number,
  json?: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, json === undefined ? headers : { 'content-type': 'application/json', ...headers });
  res.end(json === undefined ? undefined : JSON.stringify(json));
}

function sessionUser(req: IncomingMessage): string | undefined {
  const sid = /gatehouse_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  return sid === undefined ? undefined : sessions.get(sid);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url!, `http://${req.headers.host}`);
  const path = url.pathname;
  const text = await body(req);
  const form = new URLSearchParams(text);
  if (path === '/auth/.well-known/openid-configuration') {
    // The issuer names localhost; the bench targets 127.0.0.1 and must re-base the endpoints.
    const issuer = `http://localhost:${port}/auth`;
    return send(res, 200, {
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
    });
  }
  if (path === '/auth/auth') {
    const id = `i${++counter}`;
    interactions.set(id, {
      state: url.searchParams.get('state')!,
      challenge: url.searchParams.get('code_challenge')!,
      redirectUri: url.searchParams.get('redirect_uri')!,
    });
    return send(res, 303, undefined, { location: `/auth/interaction/${id}` });
  }
  const interaction = /^\/auth\/interaction\/(\w+)(\/login|\/confirm)?$/.exec(path);
  if (interaction) {
    const i = interactions.get(interaction[1]!);
    if (!i) return send(res, 404);
    if (req.method === 'GET' && i.user === undefined) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end(`<!doctype html><form method="post" action="/auth/interaction/${interaction[1]}/login">
        <input type="hidden" name="csrf" value="t&amp;1"><input name="username" autocomplete="username">
        <input type="password" name="password"><button type="submit">Sign in</button></form>`);
    }
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end(`<form method="POST" action="/auth/interaction/${interaction[1]}/confirm">
        <input type="hidden" name="csrf" value="t&amp;1"><button type="submit" name="decision" value="allow">Allow</button></form>`);
    }
    if (req.headers.origin !== `http://127.0.0.1:${port}` || form.get('csrf') !== 't&1')
      return send(res, 403);
    if (interaction[2] === '/login') {
      const user = form.get('username')!;
      if (accounts.get(user) !== form.get('password'))
        return send(res, 303, undefined, { location: path.replace('/login', '') });
      i.user = user;
      return send(res, 303, undefined, { location: `/auth/interaction/${interaction[1]}` });
    }
    if (form.get('decision') !== 'allow') return send(res, 400);
    const code = `c${++counter}`;
    codes.set(code, i.challenge);
    return send(res, 303, undefined, {
      location: `${i.redirectUri}?code=${code}&state=${encodeURIComponent(i.state)}`,
    });
  }
  if (path === '/auth/token') {
    const grant = form.get('grant_type');
    if (grant === 'client_credentials') {
      if (req.headers.authorization !== `Basic ${Buffer.from('svc:s3cret').toString('base64')}`) {
        return send(res, 401, { error: 'invalid_client' });
      }
      return send(res, 200, { access_token: 'at', token_type: 'Bearer' });
    }
    if (grant === 'authorization_code') {
      const challenge = codes.get(form.get('code')!);
      codes.delete(form.get('code')!);
      const computed = createHash('sha256').update(form.get('code_verifier')!).digest('base64url');
      if (challenge !== computed) return send(res, 400, { error: 'invalid_grant' });
    } else if (grant === 'refresh_token') {
      if (!refreshTokens.delete(form.get('refresh_token')!))
        return send(res, 400, { error: 'invalid_grant' });
    } else return send(res, 400, { error: 'unsupported_grant_type' });
    const refresh = `r${++counter}`;
    refreshTokens.add(refresh);
    return send(res, 200, { access_token: 'at', refresh_token: refresh });
  }
  if (path === '/authentication/registration') {
    const { username, password } = JSON.parse(text);
    if (accounts.has(username)) return send(res, 409, { error: 'IDP_USERNAME_TAKEN' });
    accounts.set(username, password);
    return send(res, 201, { username });
  }
  if (path === '/authentication/login') {
    const { username, password } = JSON.parse(text);
    if (accounts.get(username) !== password) return send(res, 401, { error: 'IDP_LOGIN_FAILED' });
    const sid = `s${++counter}`;
    sessions.set(sid, username);
    return send(res, 200, { username }, { 'set-cookie': `gatehouse_session=${sid}; Path=/; HttpOnly` });
  }
  const user = sessionUser(req);
  if (path === '/authentication/whoami')
    return user ? send(res, 200, { id: user, username: user }) : send(res, 401);
  const shopRoute = path === '/products' || path === '/orders' || path.startsWith('/products/');
  if (!shopRoute) return send(res, 404);
  if (!user) return send(res, 401);
  if (path === '/products')
    return send(res, 200, [
      { id: 1, name: 'bolt' },
      { id: 2, name: 'nut' },
    ]);
  const buy = /^\/products\/(\d+)\/buy$/.exec(path);
  if (buy && req.method === 'POST') {
    orders.set(user, [...(orders.get(user) ?? []), buy[1]!]);
    return send(res, 201, { ok: true });
  }
  if (path === '/orders') return send(res, 200, { orders: orders.get(user) ?? [] });
  return send(res, 404);
}

before(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((r) => server.close(() => r())));

function options(over: Partial<ScenarioOptions> = {}): ScenarioOptions {
  return {
    login: { username: 'alice', password: 'alice-password' },
    client: { id: 'svc', secret: 's3cret', auth: 'basic' },
    publicClient: { id: 'app', redirectUri: 'http://app.example/callback' },
    issuerPath: '/auth',
    accounts: 'register',
    ...over,
  };
}

async function bench(scenario: Scenario, opts: ScenarioOptions, users: number, iterations: number) {
  return runBench({
    scenario,
    options: opts,
    target: `http://127.0.0.1:${port}`,
    users: [users],
    stop: { iterations },
    rampMs: 0,
    timeoutMs: 10_000,
  });
}

/** step name → [successes, errors] */
function counts(level: LevelResult): Record<string, [number, number]> {
  return Object.fromEntries(
    [...level.recorder.steps.values()].map((r) => [r.step, [r.samples.count, r.errors]]),
  );
}

describe('the tokens scenario', () => {
  test('logs each user in through the login form once, then loops client credentials and refresh', async () => {
    const outcome = await bench(tokensScenario, options(), 3, 2);
    assert.deepEqual(counts(outcome.levels[0]!), {
      'authorize (to login page)': [3, 0],
      'login form (to code)': [3, 0],
      'authorization code grant': [3, 0],
      'client credentials grant': [6, 0],
      'refresh token grant': [6, 0],
    });
    assert.equal(outcome.json.notes[0], `token endpoint http://127.0.0.1:${port}/auth/token`);
  });

  test('skips the refresh grant, saying why, when the login form does not let the user in', async () => {
    const outcome = await bench(
      tokensScenario,
      options({ login: { username: 'alice', password: 'wrong' } }),
      2,
      2,
    );
    assert.deepEqual(counts(outcome.levels[0]!), { 'client credentials grant': [4, 0] });
    assert.equal(
      outcome.json.notes[1],
      'refresh token grant skipped: the code + PKCE login of app as alice failed (the login form came back after posting credentials)',
    );
  });

  test('counts a rejected client as errors of the client credentials step', async () => {
    const outcome = await bench(
      tokensScenario,
      options({ client: { id: 'svc', secret: 'nope', auth: 'basic' } }),
      1,
      3,
    );
    assert.deepEqual(counts(outcome.levels[0]!)['client credentials grant'], [0, 3]);
    const step = outcome.json.levels[0]!.steps.find((s) => s.step === 'client credentials grant')!;
    assert.deepEqual(step.errorKinds, { 'HTTP 401': 3 });
  });
});

describe('the shop scenario', () => {
  test('registers each user once, then logs in, reads whoami, lists, buys and lists orders', async () => {
    const outcome = await bench(shopScenario, options(), 4, 3);
    assert.deepEqual(counts(outcome.levels[0]!), {
      registration: [4, 0],
      login: [12, 0],
      whoami: [12, 0],
      'list products': [12, 0],
      buy: [12, 0],
      'list orders': [12, 0],
    });
    const comparison = outcome.json.published.comparisons.find((c) => c.figure === 'login time');
    assert.equal(comparison, undefined, 'no published figure at 4 users');
  });

  test('logs in as one account with --accounts login', async () => {
    const outcome = await bench(shopScenario, options({ accounts: 'login' }), 2, 1);
    assert.equal(counts(outcome.levels[0]!).registration, undefined);
    assert.deepEqual(counts(outcome.levels[0]!).login, [2, 0]);
  });
});

describe('the partscoder scenario', () => {
  test('counts the missing services as errors instead of failing', async () => {
    const outcome = await bench(partscoderScenario, options(), 2, 2);
    assert.deepEqual(counts(outcome.levels[0]!), {
      login: [4, 0],
      'services and status': [0, 4],
      'own settings': [0, 4],
      'list parts': [0, 4],
      'create survey': [0, 4],
      'list surveys': [0, 4],
      'edit survey': [0, 4],
      'delete survey': [0, 4],
    });
    const steps = outcome.json.levels[0]!.steps;
    assert.deepEqual(steps.find((s) => s.step === 'list parts')!.errorKinds, { 'HTTP 404': 4 });
    assert.deepEqual(steps.find((s) => s.step === 'edit survey')!.errorKinds, { 'no survey to edit': 4 });
    assert.match(outcome.json.notes[0]!, /examples\/partscoder does not seem to run/);
  });
});
