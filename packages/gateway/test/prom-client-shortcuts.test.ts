import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Registry } from '@gatehouse/core';
import { PROM_CLIENT_VERSION, routeHistogram } from '../src/ops/prom-client-shortcuts.ts';

// prom-client-shortcuts.ts relies on prom-client's inside; these fail the moment it is not the
// prom-client it was written for, instead of the gateway quietly falling back to the slow path.
const require = createRequire(import.meta.resolve('@gatehouse/core'));

test('prom-client is the exact version the shortcuts were written against', () => {
  const installed = (require('prom-client/package.json') as { version: string }).version;
  assert.equal(installed, PROM_CLIENT_VERSION);
  const core = JSON.parse(readFileSync(new URL('../../core/package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  assert.equal(core.dependencies['prom-client'], PROM_CLIENT_VERSION, 'pinned exactly, not as a range');
});

test("the route histogram finds prom-client's series and updates it in place", async () => {
  const registry = new Registry();
  const histogram = routeHistogram(registry, { name: 'h_seconds', help: 'h', buckets: [0.1, 1] });
  histogram.observe('a', 0.05);
  histogram.observe('a', 0.5);
  histogram.observe('a', 2);
  assert.equal(histogram.inPlace, true, "prom-client's histogram table is not shaped as expected");
  const text = await registry.getSingleMetricAsString('h_seconds');
  assert.match(text, /h_seconds_bucket\{le="0.1",route="a"\} 1\n/);
  assert.match(text, /h_seconds_bucket\{le="1",route="a"\} 2\n/);
  assert.match(text, /h_seconds_bucket\{le="\+Inf",route="a"\} 3\n/);
  assert.match(text, /h_seconds_sum\{route="a"\} 2.55\n/);
  assert.match(text, /h_seconds_count\{route="a"\} 3/);
});
