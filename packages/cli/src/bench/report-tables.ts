import { markdownTable } from './markdown-table.ts';
import { publishedSource } from './published.ts';
import type { Comparison, LevelSummary } from './summary.ts';

export function formatMs(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(1) : '—';
}

export function formatRate(rate: number): string {
  return `${(rate * 100).toFixed(2)} %`;
}

function errorKinds(kinds: Record<string, number>): string {
  return Object.entries(kinds)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
}

/** Response time per service and step, and error rate, at each user count. */
export function stepTable(levels: LevelSummary[]): string {
  const rows = levels.flatMap((l) =>
    // The overall row repeats a lone step, so it is shown only beside several (or none, to keep the level).
    (l.steps.length === 1 ? l.steps : [...l.steps, l.overall]).map((s) => [
      String(l.users),
      s.service,
      s.step,
      String(s.count),
      formatMs(s.meanMs),
      formatMs(s.p50Ms),
      formatMs(s.p95Ms),
      formatMs(s.p99Ms),
      formatRate(s.errorRate),
      errorKinds(s.errorKinds),
    ]),
  );
  return markdownTable(
    [
      { title: 'users', align: 'right' },
      { title: 'service' },
      { title: 'step' },
      { title: 'count', align: 'right' },
      { title: 'mean ms', align: 'right' },
      { title: 'p50 ms', align: 'right' },
      { title: 'p95 ms', align: 'right' },
      { title: 'p99 ms', align: 'right' },
      { title: 'errors', align: 'right' },
      { title: 'error kinds' },
    ],
    rows,
  );
}

/** Throughput per user count, and how busy the load generator was while producing it. */
export function levelTable(levels: LevelSummary[]): string {
  return markdownTable(
    [
      { title: 'users', align: 'right' },
      { title: 'seconds', align: 'right' },
      { title: 'steps', align: 'right' },
      { title: 'steps/s', align: 'right' },
      { title: 'HTTP requests', align: 'right' },
      { title: 'errors', align: 'right' },
      { title: 'bench CPU', align: 'right' },
      { title: 'bench event loop busy', align: 'right' },
    ],
    levels.map((l) => [
      String(l.users),
      (l.elapsedMs / 1000).toFixed(1),
      String(l.overall.count),
      l.stepsPerSecond.toFixed(0),
      String(l.requests),
      formatRate(l.overall.errorRate),
      `${l.client.cpuPercent.toFixed(0)} %`,
      `${(l.client.eventLoopUtilization * 100).toFixed(0)} %`,
    ]),
  );
}

/** Login, token generation and `mw_auth` figures next to the published ones. */
export function comparisonTable(comparisons: Comparison[]): string {
  return markdownTable(
    [
      { title: 'figure' },
      { title: 'users', align: 'right' },
      { title: 'published', align: 'right' },
      { title: 'measured mean', align: 'right' },
      { title: 'measured p95', align: 'right' },
      { title: 'samples', align: 'right' },
      { title: 'verdict' },
    ],
    comparisons.map((c) => {
      const rate = c.figure === 'mw_auth error rate';
      return [
        c.figure,
        String(c.users),
        rate ? formatRate(c.published) : `${c.published} ms`,
        Number.isNaN(c.measured) ? '—' : rate ? formatRate(c.measured) : `${formatMs(c.measured)} ms`,
        c.measuredP95Ms === undefined
          ? ''
          : Number.isFinite(c.measuredP95Ms)
            ? `${formatMs(c.measuredP95Ms)} ms`
            : '—',
        String(c.samples),
        c.verdict,
      ];
    }),
  );
}

export interface ReportInput {
  scenario: string;
  target: string;
  stopRule: string;
  notes: string[];
  levels: LevelSummary[];
  comparisons: Comparison[];
  percentileMethod: string;
}

/** The whole end-of-run report, in Markdown, as it goes to stdout and into bench/RESULTS.md. */
export function renderReport(input: ReportInput): string {
  const parts = [
    `## gatehouse bench: ${input.scenario} against ${input.target}`,
    '',
    `${input.stopRule}. Percentiles: ${input.percentileMethod}; errors are non-2xx answers, connection errors and timeouts.`,
  ];
  if (input.notes.length > 0) parts.push('', ...input.notes.map((n) => `- ${n}`));
  parts.push('', '### Response time per service and step', '', stepTable(input.levels));
  parts.push('', '### Throughput and load generator', '', levelTable(input.levels));
  if (input.comparisons.length > 0) {
    parts.push(
      '',
      '### Against the published figures',
      '',
      `${publishedSource}. Login = steps tagged login; token generation = steps tagged token; mw_auth = every step of the auth service.`,
      '',
      comparisonTable(input.comparisons),
    );
  }
  return `${parts.join('\n')}\n`;
}
