import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Histogram, Registry } from '@gatehouse/core';
import { createGatewayMetrics } from '../src/ops/gateway-metrics.ts';

const REQUESTS = 'gatehouse_gateway_requests_total';
const DURATION = 'gatehouse_gateway_request_duration_seconds';

/** What prom-client itself reports when each duration is observed as its request ends. */
async function expectedDurations(observations: [string, number][]): Promise<string> {
  const registry = new Registry();
  const histogram = new Histogram({
    name: DURATION,
    help: 'Time from request to response end, by route',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  for (const [route, seconds] of observations) histogram.observe({ route }, seconds);
  return registry.getSingleMetricAsString(DURATION);
}

/** What prom-client itself reports when each request is counted as it ends. */
async function expected(observations: [string, string, number][]): Promise<string> {
  const registry = new Registry();
  const counter = new Counter({
    name: REQUESTS,
    help: 'Requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const known = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
  for (const [route, method, status] of observations) {
    counter.inc({ route, method: known.has(method) ? method : 'OTHER', status: String(status) });
  }
  return registry.getSingleMetricAsString(REQUESTS);
}

describe('gateway metrics', () => {
  const observations: [string, string, number][] = [
    ['a', 'GET', 200],
    ['a', 'GET', 200],
    ['a', 'POST', 201],
    ['b', 'GET', 404],
    ['a', 'PROPFIND', 200],
    ['a', 'BREW', 200],
    ['_gatehouse', 'GET', 200],
  ];

  test('requests are counted by route, method and status as prom-client counts them', async () => {
    const registry = new Registry();
    const metrics = createGatewayMetrics(registry);
    for (const [route, method, status] of observations) metrics.observeRequest(route, method, status, 0.002);
    assert.equal(await registry.getSingleMetricAsString(REQUESTS), await expected(observations));
    // Read twice: what was handed over is not counted again.
    assert.equal(await registry.getSingleMetricAsString(REQUESTS), await expected(observations));
    metrics.observeRequest('b', 'GET', 404, 0.002);
    assert.equal(
      await registry.getSingleMetricAsString(REQUESTS),
      await expected([...observations, ['b', 'GET', 404]]),
    );
    const text = await registry.metrics();
    assert.match(text, /gatehouse_gateway_request_duration_seconds_count\{route="a"\} 5/);
  });

  test('a reset drops the requests not yet read too', async () => {
    const registry = new Registry();
    const metrics = createGatewayMetrics(registry);
    metrics.observeRequest('a', 'GET', 200, 0.001);
    registry.resetMetrics();
    metrics.observeRequest('a', 'GET', 500, 0.001);
    assert.equal(await registry.getSingleMetricAsString(REQUESTS), await expected([['a', 'GET', 500]]));
  });

  test('durations are observed by route as prom-client observes them', async () => {
    // Values on bucket bounds, between them, below the first and above the last, in two routes.
    const durations: [string, number][] = [
      ['a', 0.0004],
      ['a', 0.001],
      ['b', 0.0025],
      ['a', 0.0031],
      ['a', 0],
      ['b', 10],
      ['a', 12.5],
      ['b', 0.25000001],
      ['a', 0.7],
      ['_gatehouse', 0.00001],
    ];
    const registry = new Registry();
    const metrics = createGatewayMetrics(registry);
    for (const [route, seconds] of durations) metrics.observeRequest(route, 'GET', 200, seconds);
    assert.equal(await registry.getSingleMetricAsString(DURATION), await expectedDurations(durations));
    metrics.observeRequest('b', 'GET', 200, 0.004);
    assert.equal(
      await registry.getSingleMetricAsString(DURATION),
      await expectedDurations([...durations, ['b', 0.004]]),
    );
    // After a reset the series start again from the next request.
    registry.resetMetrics();
    metrics.observeRequest('a', 'GET', 200, 0.02);
    metrics.observeRequest('a', 'GET', 200, 0.03);
    assert.equal(
      await registry.getSingleMetricAsString(DURATION),
      await expectedDurations([
        ['a', 0.02],
        ['a', 0.03],
      ]),
    );
    // A value prom-client refuses is still refused, first for a route or not.
    assert.throws(() => metrics.observeRequest('a', 'GET', 200, Number.NaN), TypeError);
    assert.throws(() => metrics.observeRequest('c', 'GET', 200, Number.POSITIVE_INFINITY), TypeError);
  });
});
