import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  closeServer,
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

/**
 * A small decision service: `viewer` of `channel:<id>` when the pair is in `grants`. `mode` makes it
 * fail in the ways a real one can.
 */
interface DecisionService {
  url: string;
  server: Server;
  grants: Set<string>;
  calls: { subject: string; relation: string; object: string }[];
  mode: 'ok' | 'error' | 'garbage' | 'hang';
}

async function startDecisionService(): Promise<DecisionService> {
  const svc = { grants: new Set<string>(), calls: [], mode: 'ok' } as unknown as DecisionService;
  svc.server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const q = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    svc.calls.push(q);
    if (svc.mode === 'hang') return;
    if (svc.mode === 'error') {
      res.writeHead(500).end();
      return;
    }
    const body =
      svc.mode === 'garbage'
        ? '{"allowed":"yes"}'
        : JSON.stringify({ allowed: svc.grants.has(`${q.subject}|${q.relation}|${q.object}`) });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  svc.server.listen(0, '127.0.0.1');
  await once(svc.server, 'listening');
  svc.url = `http://127.0.0.1:${(svc.server.address() as AddressInfo).port}/check`;
  return svc;
}

let upstream: Upstream;
let decisions: DecisionService;
let gw: Harness;
let keys: Keys;

before(async () => {
  upstream = await startEcho();
  decisions = await startDecisionService();
  keys = await makeKeys();
  gw = await startGateway(
    {
      decision: { url: decisions.url, cacheTtlMs: 60_000, timeoutMs: 1000 },
      routes: [
        {
          id: 'channel',
          match: { pattern: '/channels/{id}/messages' },
          upstreams: [upstream.url],
          policy: { permission: { relation: 'viewer', object: 'channel:{id}' } },
        },
      ],
    },
    { keys },
  );
});

after(async () => {
  await gw.close();
  await upstream.close();
  decisions.server.closeAllConnections();
  await closeServer(decisions.server);
});

beforeEach(() => {
  decisions.mode = 'ok';
  decisions.calls.length = 0;
});

const as = async (sub: string): Promise<[string, string][]> => [
  ['Authorization', `Bearer ${await mintToken(keys, { sub, username: sub })}`],
];

describe('permission policy', () => {
  test('allowed by the decision service: 200, asked with the subject, relation and object', async () => {
    decisions.grants.add('user:alice|viewer|channel:general');
    const a = await send(gw.url, '/channels/general/messages', { headers: await as('alice') });
    assert.equal(echoed(a).headers['x-user-id'], 'alice');
    assert.deepEqual(decisions.calls, [
      { subject: 'user:alice', relation: 'viewer', object: 'channel:general' },
    ]);
  });

  test('denied: 403 GW_PERMISSION_DENIED', async () => {
    const a = await send(gw.url, '/channels/secret/messages', { headers: await as('alice') });
    assert.equal(a.status, 403);
    assert.deepEqual(a.json(), { error: 'GW_PERMISSION_DENIED', message: 'Permission denied' });
  });

  test('a repeated question is answered from the cache', async () => {
    decisions.grants.add('user:carol|viewer|channel:cached');
    const headers = await as('carol');
    assert.equal((await send(gw.url, '/channels/cached/messages', { headers })).status, 200);
    assert.equal((await send(gw.url, '/channels/cached/messages', { headers })).status, 200);
    assert.equal(decisions.calls.length, 1);
  });

  test('no credential: 401 before the decision service is asked', async () => {
    const a = await send(gw.url, '/channels/general/messages');
    assert.equal(a.status, 401);
    assert.equal(decisions.calls.length, 0);
  });

  test('the decision service failing: 503 GW_DECISION_UNAVAILABLE, never an allow', async () => {
    decisions.mode = 'error';
    const a = await send(gw.url, '/channels/down-1/messages', { headers: await as('dave') });
    assert.equal(a.status, 503);
    assert.equal(a.json().error, 'GW_DECISION_UNAVAILABLE');
  });

  test('an answer that is not { allowed: boolean }: 503 GW_DECISION_UNAVAILABLE', async () => {
    decisions.mode = 'garbage';
    const a = await send(gw.url, '/channels/down-2/messages', { headers: await as('dave') });
    assert.equal(a.status, 503);
    assert.equal(a.json().error, 'GW_DECISION_UNAVAILABLE');
  });

  test('the decision service not answering in time: 503 GW_DECISION_UNAVAILABLE', async () => {
    decisions.mode = 'hang';
    const a = await send(gw.url, '/channels/down-3/messages', { headers: await as('dave') });
    assert.equal(a.status, 503);
    assert.equal(a.json().error, 'GW_DECISION_UNAVAILABLE');
  });
});
