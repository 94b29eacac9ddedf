import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { runLevel } from '../src/bench/engine.ts';
import type { ScenarioPlan, Step } from '../src/bench/scenario.ts';

let server: Server;
let target: string;
const hits = new Map<string, number>();

before(async () => {
  server = createServer((req, res) => {
    hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
    req.resume();
    if (req.url === '/fail') res.writeHead(503).end();
    else if (req.url === '/reset') req.socket.destroy();
    else if (req.url?.startsWith('/alternate')) {
      // Every second request of this path fails.
      res.writeHead(hits.get(req.url)! % 2 === 0 ? 500 : 200).end('x');
    } else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

/** A plan whose users GET the given paths, optionally with setup paths run once per user. */
function plan(paths: string[], setupPaths: string[] = []): ScenarioPlan {
  return {
    notes: [],
    createUser: ({ http, index }) => {
      const step = (path: string): Step => ({
        service: 'svc',
        name: path,
        run: async () => {
          await http.request('GET', `${path}${path.startsWith('/alternate') ? `-${index}` : ''}`);
        },
      });
      return { setup: setupPaths.map(step), steps: paths.map(step) };
    },
  };
}

describe('the load engine', () => {
  test('runs every step of every user exactly the given number of iterations', async () => {
    hits.clear();
    const level = await runLevel({
      plan: plan(['/a', '/b'], ['/setup']),
      users: 7,
      stop: { iterations: 5 },
      target,
    });
    assert.equal(hits.get('/a'), 35);
    assert.equal(hits.get('/b'), 35);
    assert.equal(hits.get('/setup'), 7);
    assert.equal(level.recorder.requests, 77);
    assert.equal(level.recorder.completedIterations, 35);
    assert.equal(level.recorder.steps.get('svc\u0000/a')!.samples.count, 35);
    assert.equal(level.recorder.failedSteps, 0);
  });

  test('counts non-2xx answers as errors, by status', async () => {
    hits.clear();
    const level = await runLevel({ plan: plan(['/ok', '/fail']), users: 3, stop: { iterations: 4 }, target });
    const ok = level.recorder.steps.get('svc\u0000/ok')!;
    const fail = level.recorder.steps.get('svc\u0000/fail')!;
    assert.equal(ok.samples.count, 12);
    assert.equal(ok.errors, 0);
    assert.equal(fail.samples.count, 0);
    assert.equal(fail.errors, 12);
    assert.deepEqual(Object.fromEntries(fail.errorKinds), { 'HTTP 503': 12 });
  });

  test('records an error rate of one half when every second answer fails', async () => {
    hits.clear();
    const level = await runLevel({ plan: plan(['/alternate']), users: 2, stop: { iterations: 10 }, target });
    const r = level.recorder.steps.get('svc\u0000/alternate')!;
    assert.equal(r.samples.count, 10);
    assert.equal(r.errors, 10);
    assert.deepEqual(Object.fromEntries(r.errorKinds), { 'HTTP 500': 10 });
  });

  test('counts a connection reset as an error and goes on', async () => {
    hits.clear();
    const level = await runLevel({
      plan: plan(['/reset', '/ok']),
      users: 2,
      stop: { iterations: 3 },
      target,
    });
    const reset = level.recorder.steps.get('svc\u0000/reset')!;
    assert.equal(reset.errors, 6);
    assert.equal(reset.samples.count, 0);
    assert.equal(level.recorder.steps.get('svc\u0000/ok')!.samples.count, 6);
    assert.deepEqual([...reset.errorKinds.keys()], ['UND_ERR_SOCKET']);
  });

  test('counts a refused connection as an error', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const level = await runLevel({
      plan: plan(['/ok']),
      users: 2,
      stop: { iterations: 2 },
      target: `http://127.0.0.1:${port}`,
    });
    const r = level.recorder.steps.get('svc\u0000/ok')!;
    assert.equal(r.errors, 4);
    assert.deepEqual(Object.fromEntries(r.errorKinds), { ECONNREFUSED: 4 });
  });

  test('runs setup again in the next iteration when it failed', async () => {
    hits.clear();
    const level = await runLevel({
      plan: plan(['/ok'], ['/fail']),
      users: 1,
      stop: { iterations: 3 },
      target,
    });
    assert.equal(hits.get('/fail'), 3);
    assert.equal(hits.get('/ok'), undefined);
    assert.equal(level.recorder.completedIterations, 3);
  });

  test('starts no new step once aborted, and finishes the ones in flight', async () => {
    hits.clear();
    const stop = new AbortController();
    const plan: ScenarioPlan = {
      notes: [],
      createUser: ({ http }) => ({
        setup: [],
        steps: [
          {
            service: 'svc',
            name: 'abort',
            run: async () => {
              await http.request('GET', '/abort');
              if (hits.get('/abort') === 5) stop.abort();
            },
          },
        ],
      }),
    };
    const level = await runLevel({
      plan,
      users: 2,
      stop: { durationMs: 60_000 },
      target,
      signal: stop.signal,
    });
    const sent = hits.get('/abort')!;
    assert.ok(sent === 5 || sent === 6, `sent ${sent}`);
    assert.equal(level.recorder.steps.get('svc\u0000abort')!.samples.count, sent);
  });

  test('stops every user once the duration is over', async () => {
    hits.clear();
    const level = await runLevel({ plan: plan(['/ok']), users: 4, stop: { durationMs: 300 }, target });
    assert.ok(level.elapsedMs >= 300, `elapsed ${level.elapsedMs}`);
    assert.ok(hits.get('/ok')! >= 4);
    assert.equal(hits.get('/ok'), level.recorder.steps.get('svc\u0000/ok')!.samples.count);
  });
});
