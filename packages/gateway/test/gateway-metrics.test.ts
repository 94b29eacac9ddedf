import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Registry } from '@gatehouse/core';
import { createGatewayMetrics } from '../src/gateway-metrics.ts';

const REQUESTS = 'gatehouse_gateway_requests_total';

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
});
