import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LevelResult } from '../src/bench/engine.ts';
import { markdownTable } from '../src/bench/markdown-table.ts';
import { ProgressBar } from '../src/bench/progress-bar.ts';
import { Recorder } from '../src/bench/recorder.ts';
import { benchJson } from '../src/bench/report-json.ts';
import { latencySvg } from '../src/bench/report-svg.ts';
import { comparisonTable, stepTable } from '../src/bench/report-tables.ts';
import { compareWithPublished, summarizeLevel } from '../src/bench/summary.ts';

function level(users: number, ms: number[], errors = 0): LevelResult {
  const recorder = new Recorder();
  for (const v of ms) recorder.success('auth', 'client credentials grant', 'token', v);
  for (let i = 0; i < errors; i++) recorder.failure('auth', 'client credentials grant', 'token', 'HTTP 429');
  return {
    users,
    elapsedMs: 1000,
    recorder,
    client: { cpuPercent: 12.5, eventLoopUtilization: 0.25, eventLoopDelayP99Ms: 2 },
  };
}

const levels = [level(1, [1, 2, 3, 4]), level(10, [10, 20, 30, 40], 1), level(100, [])];

/**
 * Checks that a document is well-formed XML as the SVG chart writes it: balanced and properly
 * nested tags, quoted attributes, no stray `<` or `&`. Returns every element with its attributes.
 */
function parseXml(xml: string): Array<{ name: string; attrs: Record<string, string> }> {
  const elements: Array<{ name: string; attrs: Record<string, string> }> = [];
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let pos = 0;
  for (let m = token.exec(xml); m !== null; m = token.exec(xml)) {
    pos = token.lastIndex;
    const [, closing, name, attrText, selfClosing, text] = m;
    if (text !== undefined) {
      assert.doesNotMatch(text, /&(?!#\d+;|amp;|lt;|gt;|quot;|apos;)/, `bare & in ${JSON.stringify(text)}`);
      continue;
    }
    if (closing) {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
      continue;
    }
    const attrs = Object.fromEntries(
      [...attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]),
    );
    elements.push({ name: name!, attrs });
    if (!selfClosing) stack.push(name!);
  }
  assert.equal(pos, xml.length, `unparsable from ${JSON.stringify(xml.slice(pos, pos + 40))}`);
  assert.deepEqual(stack, [], 'unclosed elements');
  return elements;
}

describe('the report', () => {
  test('renders a Markdown table with padded, aligned columns', () => {
    assert.equal(
      markdownTable(
        [{ title: 'step' }, { title: 'ms', align: 'right' }],
        [
          ['login', '1.5'],
          ['a|b', '10.0'],
        ],
      ),
      ['| step  |   ms |', '| ----- | ---: |', '| login |  1.5 |', '| a\\|b  | 10.0 |'].join('\n'),
    );
  });

  test('lists each step at each user count with mean, percentiles and error rate', () => {
    const lines = stepTable(levels.map(summarizeLevel)).split('\n');
    assert.equal(
      lines[0],
      '| users | service | step                     | count | mean ms | p50 ms | p95 ms | p99 ms |  errors | error kinds |',
    );
    assert.equal(
      lines[2],
      '|     1 | auth    | client credentials grant |     4 |     2.5 |    2.0 |    4.0 |    4.0 |  0.00 % |             |',
    );
    assert.equal(
      lines[3],
      '|    10 | auth    | client credentials grant |     5 |    25.0 |   20.0 |   40.0 |   40.0 | 20.00 % | HTTP 429 ×1 |',
    );
    // One step per level needs no overall row; no step ran at 100 users, so only the overall row,
    // with dashes for the times.
    assert.equal(lines.length, 5);
    assert.equal(
      lines[4],
      '|   100 | all     | all steps                |     0 |       — |      — |      — |      — |  0.00 % |             |',
    );
  });

  test('sets the published figures beside the measured ones with a verdict', () => {
    const table = comparisonTable(compareWithPublished(levels));
    assert.match(
      table,
      /^\| token generation time \| {5}1 \| {5}30 ms \| {8}2\.5 ms \| {7}4\.0 ms \| {7}4 \| beaten +\|$/m,
    );
    assert.match(
      table,
      /^\| mw_auth error rate +\| {4}10 \| {4}0\.00 % \| {7}20\.00 % \| +\| +5 \| not beaten \|$/m,
    );
    assert.match(table, /^\| login time +\| {3}100 \| {4}160 ms \| +— \| +\| +0 \| no data +\|$/m);
  });

  test('writes JSON with the run, each level and the comparisons, NaN as null', () => {
    const json = benchJson({
      scenario: 'tokens',
      target: 'http://localhost:8080',
      startedAt: new Date('2026-01-01T00:00:00Z'),
      stop: { iterations: 3 },
      rampMs: 0,
      percentileMethod: 'exact',
      notes: ['a note'],
      levels: levels.map(summarizeLevel),
      comparisons: compareWithPublished(levels),
    });
    const parsed = JSON.parse(JSON.stringify(json));
    assert.deepEqual(Object.keys(parsed), [
      'tool',
      'schemaVersion',
      'scenario',
      'target',
      'startedAt',
      'stop',
      'rampMs',
      'percentileMethod',
      'notes',
      'levels',
      'published',
    ]);
    assert.equal(parsed.startedAt, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(
      parsed.levels.map((l: { users: number }) => l.users),
      [1, 10, 100],
    );
    assert.deepEqual(parsed.levels[1].steps[0], {
      service: 'auth',
      step: 'client credentials grant',
      role: 'token',
      count: 5,
      errors: 1,
      errorRate: 0.2,
      meanMs: 25,
      p50Ms: 20,
      p95Ms: 40,
      p99Ms: 40,
      maxMs: 40,
      errorKinds: { 'HTTP 429': 1 },
    });
    assert.equal(parsed.levels[2].overall.p99Ms, null);
    assert.deepEqual(parsed.levels[0].client, {
      cpuPercent: 12.5,
      eventLoopUtilization: 0.25,
      eventLoopDelayP99Ms: 2,
    });
    assert.deepEqual(parsed.published.comparisons[0], {
      figure: 'login time',
      users: 1,
      published: 120,
      measured: null,
      samples: 0,
      verdict: 'no data',
    });
  });

  test('draws a well-formed SVG with one polyline per percentile', () => {
    const svg = latencySvg('tokens & <more>', levels.map(summarizeLevel));
    const elements = parseXml(svg);
    assert.equal(elements[0]!.name, 'svg');
    assert.equal(elements[0]!.attrs.xmlns, 'http://www.w3.org/2000/svg');
    const lines = elements.filter((e) => e.name === 'polyline');
    assert.deepEqual(
      lines.map((l) => l.attrs['data-series']),
      ['p50', 'p95', 'p99'],
    );
    // Two levels have samples, the third none: two points per line.
    for (const l of lines) assert.equal(l.attrs.points!.split(' ').length, 2);
    assert.match(svg, /tokens &#38; &#60;more&#62;/);
  });
});

describe('the progress bar', () => {
  const live = { users: 10, stop: { iterations: 4 }, startedAt: 0, recorder: new Recorder() };

  test('redraws in place on a terminal', () => {
    const written: string[] = [];
    const bar = new ProgressBar({ isTTY: true, columns: 200, write: (s: string) => written.push(s) });
    bar.start(live);
    bar.stop();
    assert.equal(written.length, 2);
    for (const w of written) assert.ok(w.startsWith('\r\x1b[2K'), JSON.stringify(w));
    assert.match(written[1]!, /users {3}10 \[\.{24}\] {3}0% .* 0 steps {2}0 errors/);
  });

  test('prints plain lines when stderr is not a terminal', () => {
    const written: string[] = [];
    const bar = new ProgressBar({ isTTY: false, write: (s: string) => written.push(s) });
    bar.start(live);
    bar.stop();
    assert.equal(written.length, 1);
    assert.doesNotMatch(written[0]!, /\x1b|\r/);
    assert.ok(written[0]!.endsWith('\n'));
  });
});
