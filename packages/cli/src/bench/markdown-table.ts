export interface Column {
  title: string;
  align?: 'left' | 'right';
}

/** A Markdown table with padded columns, readable both raw in a terminal and rendered. */
export function markdownTable(columns: Column[], rows: string[][]): string {
  const cell = (s: string) => s.replaceAll('|', '\\|');
  const body = rows.map((r) => r.map(cell));
  const widths = columns.map((c, i) => Math.max(3, c.title.length, ...body.map((r) => (r[i] ?? '').length)));
  const pad = (s: string, i: number) =>
    columns[i]!.align === 'right' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!);
  const line = (cells: string[]) => `| ${cells.map(pad).join(' | ')} |`;
  // The delimiter row in the form Biome's Markdown formatter writes, so a report pasted into
  // bench/RESULTS.md passes `npm run lint` unchanged.
  const rule = line(
    columns.map((c, i) => (c.align === 'right' ? `${'-'.repeat(widths[i]! - 1)}:` : '-'.repeat(widths[i]!))),
  );
  return [
    line(columns.map((c) => c.title)),
    rule,
    ...body.map((r) => line(columns.map((_, i) => r[i] ?? ''))),
  ].join('\n');
}
