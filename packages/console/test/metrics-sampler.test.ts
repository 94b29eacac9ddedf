// The gateway page's figures from real Prometheus text (prom-client, as the gateway exports it):
// parsing, rates between scrapes, the p99 from histogram buckets, rejections and upstream health.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Counter, createLogger, Gauge, Histogram, Registry } from '@gatehouse/core';
import { createMetricsSampler, seriesOf } from '../src/gateway/metrics-sampler.ts';
import { parsePrometheusText } from '../src/gateway/prometheus-text.ts';

function gatewayLikeRegistry() {
  const registry = new Registry();
  const requests = new Counter({
    name: 'gatehouse_gateway_requests_total',
    help: 'Requests',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gatehouse_gateway_request_duration_seconds',
    help: 'Duration',
    labelNames: ['route'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  const limits = new Counter({
    name: 'gatehouse_gateway_limit_rejections_total',
    help: 'Rejections',
    labelNames: ['route', 'limit'],
    registers: [registry],
  });
  const available = new Gauge({
    name: 'gatehouse_gateway_upstream_available',
    help: 'Available',
    labelNames: ['route', 'upstream'],
    registers: [registry],
  });
  return { registry, requests, duration, limits, available };
}

test('labels with escaped quotes and +Inf buckets are read; comments and junk lines are skipped', () => {
  const samples = parsePrometheusText(
    '# HELP x y\nx_total{a="say \\"hi\\"",b="2"} 3\nnot a sample\nh_bucket{le="+Inf"} 7 1700000000\n',
  );
  assert.deepEqual(samples, [
    { name: 'x_total', labels: { a: 'say "hi"', b: '2' }, value: 3 },
    { name: 'h_bucket', labels: { le: '+Inf' }, value: 7 },
  ]);
});

test('scrapes give requests per second, 4xx and 5xx rates, the p99, rejections and upstream state', async (t) => {
  const m = gatewayLikeRegistry();
  const server = createServer(async (_req, res) => {
    res.writeHead(200, { 'content-type': m.registry.contentType });
    res.end(await m.registry.metrics());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  const sampler = createMetricsSampler({ url: () => url, logger: createLogger({ level: 'silent' }) });
  t.after(() => sampler.stop());

  await sampler.refresh(0);
  // 100 requests between the scrapes: 90 fast 200s, 8 404s, 2 slow 502s.
  for (let i = 0; i < 90; i++) {
    m.requests.inc({ route: 'shop', method: 'GET', status: '200' });
    m.duration.observe({ route: 'shop' }, 0.002);
  }
  for (let i = 0; i < 8; i++) {
    m.requests.inc({ route: 'shop', method: 'GET', status: '404' });
    m.duration.observe({ route: 'shop' }, 0.002);
  }
  for (let i = 0; i < 2; i++) {
    m.requests.inc({ route: 'shop', method: 'GET', status: '502' });
    m.duration.observe({ route: 'shop' }, 0.3);
  }
  m.limits.inc({ route: 'shop', limit: 'rate' }, 4);
  m.available.set({ route: 'shop', upstream: 'http://a' }, 1);
  m.available.set({ route: 'shop', upstream: 'http://b' }, 0);
  await new Promise((r) => setTimeout(r, 200));
  const samples = await sampler.refresh(0);
  assert.equal(samples.length, 2);
  const seconds = (samples[1]!.at - samples[0]!.at) / 1000;
  const series = seriesOf(samples);
  assert.equal(series.requestsPerSecond.length, 1);
  assert.ok(Math.abs(series.requestsPerSecond[0]!.value - 100 / seconds) < 1e-9);
  assert.ok(Math.abs(series.errors4xxPerSecond[0]!.value - 8 / seconds) < 1e-9);
  assert.ok(Math.abs(series.errors5xxPerSecond[0]!.value - 2 / seconds) < 1e-9);
  // The 99th of 100 requests is one of the two slow ones: inside the 0.1–0.5 s bucket.
  const p99 = series.p99Ms[0]!.value;
  assert.ok(p99 > 100 && p99 <= 500, String(p99));
  assert.deepEqual([...samples[1]!.rejections], [['shop rate', 4]]);
  assert.deepEqual(
    [...samples[1]!.upstreams],
    [
      ['shop http://a', true],
      ['shop http://b', false],
    ],
  );
});

test('an interval in which the counters went down (a gateway restart) is left out, not drawn negative', () => {
  const at = Date.now();
  const base = {
    buckets: new Map(),
    rejections: new Map(),
    upstreams: new Map(),
    status4xx: 0,
    status5xx: 0,
  };
  const series = seriesOf([
    { ...base, at, requests: 500 },
    { ...base, at: at + 5000, requests: 20 },
    { ...base, at: at + 10_000, requests: 70 },
  ]);
  assert.deepEqual(
    series.requestsPerSecond.map((p) => p.value),
    [10],
  );
});

test('a metrics endpoint that does not answer is reported, and no sample is invented', async () => {
  const sampler = createMetricsSampler({
    url: () => 'http://127.0.0.1:9/metrics',
    logger: createLogger({ level: 'silent' }),
  });
  const samples = await sampler.refresh(0);
  sampler.stop();
  assert.equal(samples.length, 0);
  assert.ok(sampler.lastError());
});
