import { html, type Markup } from '../html.ts';
import type { Point } from './metrics-sampler.ts';

const W = 320;
const H = 80;

function format(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/**
 * A small line chart as inline SVG, drawn on the server: no script and no chart library. It is an
 * image with a text alternative (the latest value and the peak), and the figures are also printed.
 */
export function sparkline(
  id: string,
  title: string,
  unit: string,
  points: Point[],
  windowMs: number,
): Markup {
  const now = points.at(-1)?.at ?? Date.now();
  const from = now - windowMs;
  const shown = points.filter((p) => p.at >= from);
  const peak = Math.max(0, ...shown.map((p) => p.value));
  const top = peak > 0 ? peak * 1.1 : 1;
  const x = (at: number) => ((at - from) / windowMs) * W;
  const y = (v: number) => H - (v / top) * H;
  const path = shown
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`)
    .join(' ');
  const latest = shown.at(-1)?.value;
  const summary =
    latest === undefined
      ? 'no data yet'
      : `now ${format(latest)} ${unit}, peak ${format(peak)} ${unit} over the last ${Math.round(windowMs / 60_000)} minutes`;
  return html`<figure class="chart" aria-labelledby="${id}-title">
<figcaption id="${id}-title"><strong>${title}</strong> <span class="chart-now">${summary}</span></figcaption>
<svg viewBox="0 0 ${String(W)} ${String(H)}" width="${String(W)}" height="${String(H)}" role="img" aria-label="${title}: ${summary}" preserveAspectRatio="none">
<line x1="0" y1="${String(H - 0.5)}" x2="${String(W)}" y2="${String(H - 0.5)}" class="axis"></line>
${path ? html`<path d="${path}" class="line" fill="none"></path>` : ''}
</svg></figure>`;
}
