import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@gatehouse/core/testing';
import { auditSampled } from '../src/ops/decision-audit.ts';
import {
  echoed,
  type Harness,
  type Keys,
  makeKeys,
  mintToken,
  send,
  startEcho,
  startGateway,
  type Upstream,
} from './harness.ts';

let upstream: Upstream;
let gw: Harness;
let keys: Keys;

const routes = () => [
  { id: 'orders', match: { path: '/orders' }, upstreams: [upstream.url], policy: { roles: ['buyer'] } },
  { id: 'open', match: { path: '/open' }, upstreams: [upstream.url], policy: 'public' },
];
const section = (audit: Record<string, number>) => ({
  auth: { issuer: 'http://issuer.test/auth', audiences: ['http://gateway.test'] },
  audit,
  routes: routes(),
});

before(async () => {
  upstream = await startEcho();
  keys = await makeKeys();
  gw = await startGateway({ audit: { allowSampleRate: 1, denySampleRate: 1 }, routes: routes() }, { keys });
});

after(async () => {
  await gw.close();
  await upstream.close();
});

type Decision = Record<string, unknown>;
const decisionOf = (requestId: unknown): Decision | undefined =>
  gw.logLines().find((l) => l.audit === 'gateway' && (l.decision as Decision)?.requestId === requestId)
    ?.decision as Decision | undefined;

describe('gateway decision audit', () => {
  test('an allowed request is audited with the policy that let it through, the subject and the client id', async () => {
    const token = await mintToken(keys, { sub: 'anne', client_id: 'shop-app', roles: ['buyer'] });
    const a = await send(gw.url, '/orders/7?secret=in-query', {
      headers: [['Authorization', `Bearer ${token}`]],
    });
    const requestId = echoed(a).headers['x-request-id'];
    await waitFor(() => decisionOf(requestId) !== undefined);
    assert.deepEqual(decisionOf(requestId), {
      decision: 'allow',
      reason: 'roles',
      route: 'orders',
      method: 'GET',
      path: '/orders/7',
      status: 200,
      requestId,
      client: '127.0.0.1',
      subject: 'anne',
      clientId: 'shop-app',
    });
    const all = JSON.stringify(gw.logLines());
    assert.equal(all.includes(token), false);
    assert.equal(all.includes('in-query'), false);
  });

  test('a refused request is audited with its error code as the reason', async () => {
    const token = await mintToken(keys, { sub: 'bob', client_id: 'shop-app', roles: ['viewer'] });
    const a = await send(gw.url, '/orders/7', { headers: [['Authorization', `Bearer ${token}`]] });
    assert.equal(a.status, 403);
    const requestId = a.headers['x-request-id'];
    await waitFor(() => decisionOf(requestId) !== undefined);
    const d = decisionOf(requestId)!;
    assert.equal(d.decision, 'deny');
    assert.equal(d.reason, 'SDK_INSUFFICIENT_ROLE');
    assert.equal(d.status, 403);
    assert.equal(d.subject, 'bob');

    const anonymous = await send(gw.url, '/orders/7');
    assert.equal(anonymous.status, 401);
    await waitFor(() => decisionOf(anonymous.headers['x-request-id']) !== undefined);
    assert.equal(decisionOf(anonymous.headers['x-request-id'])!.reason, 'SDK_TOKEN_MISSING');
  });

  test('health and metrics answers are not decisions', async () => {
    const a = await send(gw.url, '/_gatehouse/health/live');
    assert.equal(a.status, 200);
    const allowed = await send(gw.url, '/open/x');
    await waitFor(() => decisionOf(allowed.headers['x-request-id']) !== undefined);
    assert.equal(decisionOf(a.headers['x-request-id']), undefined);
    assert.equal(decisionOf(allowed.headers['x-request-id'])!.reason, 'public');
  });

  test('with the sample rates at 0 (the default) nothing is audited; a reload changes the rates', async () => {
    await gw.gateway.reload(section({ allowSampleRate: 0, denySampleRate: 1 }));
    const allowed = await send(gw.url, '/open/quiet');
    const denied = await send(gw.url, '/orders/quiet');
    await waitFor(() => decisionOf(denied.headers['x-request-id']) !== undefined);
    assert.equal(decisionOf(allowed.headers['x-request-id']), undefined);
    await gw.gateway.reload(section({}));
    const again = await send(gw.url, '/orders/quiet-too');
    const later = await send(gw.url, '/open/after');
    await waitFor(() =>
      gw
        .logLines()
        .some((l) => (l.access as Decision | undefined)?.requestId === later.headers['x-request-id']),
    );
    assert.equal(decisionOf(again.headers['x-request-id']), undefined);
    assert.equal(decisionOf(later.headers['x-request-id']), undefined);
  });

  test('sampling writes about the configured share', () => {
    let n = 0;
    const draws = [0.1, 0.3, 0.5, 0.7, 0.9];
    for (const r of draws)
      if (auditSampled({ allowSampleRate: 0.5, denySampleRate: 0 }, 'allow', () => r)) n++;
    assert.equal(n, 2);
    assert.equal(
      auditSampled({ allowSampleRate: 0.5, denySampleRate: 0 }, 'deny', () => 0),
      false,
    );
    assert.equal(
      auditSampled({ allowSampleRate: 0, denySampleRate: 1 }, 'deny', () => 0.999),
      true,
    );
  });
});
