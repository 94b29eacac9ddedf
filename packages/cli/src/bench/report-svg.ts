import { escapeHtml } from '@gatehouse/core';
import type { LevelSummary } from './summary.ts';

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 64, right: 120, top: 40, bottom: 48 };
const SERIES = [
  { key: 'p50Ms', label: 'p50', color: '#1b9e77' },
  { key: 'p95Ms', label: 'p95', color: '#d95f02' },
  { key: 'p99Ms', label: 'p99', color: '#7570b3' },
] as const;

/** A round axis maximum (1, 2 or 5 × a power of ten) at or above the largest value. */
function niceCeiling(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * power >= max) return m * power;
  return 10 * power;
}

/**
 * Latency (p50, p95, p99 of every step together) against the number of users, one polyline per
 * percentile. Written by hand: a few dozen elements, no chart library needed. User counts sit at
 * equal spacing (they usually grow tenfold), labelled with their value.
 */
export function latencySvg(scenario: string, levels: LevelSummary[]): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const yMax = niceCeiling(
    Math.max(0, ...levels.flatMap((l) => SERIES.map((s) => l.overall[s.key]).filter(Number.isFinite))),
  );
  const x = (i: number) =>
    MARGIN.left + (levels.length === 1 ? plotW / 2 : (plotW * i) / (levels.length - 1));
  const y = (ms: number) => MARGIN.top + plotH - (plotH * ms) / yMax;
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeHtml(`gatehouse bench ${scenario}: latency against users`)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">${escapeHtml(`${scenario}: latency of all steps (ms) against users`)}</text>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (yMax * t) / 4;
    out.push(
      `<line x1="${MARGIN.left}" y1="${f(y(v))}" x2="${MARGIN.left + plotW}" y2="${f(y(v))}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${f(y(v) + 4)}" text-anchor="end">${escapeHtml(String(Number(v.toPrecision(3))))}</text>`,
    );
  }
  levels.forEach((l, i) => {
    out.push(`<text x="${f(x(i))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${l.users}</text>`);
  });
  out.push(
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${MARGIN.left + plotW}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotH}" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">virtual users</text>`,
    `<text x="16" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + plotH / 2})">ms</text>`,
  );
  SERIES.forEach((s, k) => {
    const points = levels
      .map((l, i) => [i, l.overall[s.key]] as const)
      .filter(([, v]) => Number.isFinite(v))
      .map(([i, v]) => `${f(x(i))},${f(y(v))}`)
      .join(' ');
    out.push(
      `<polyline data-series="${s.label}" points="${points}" fill="none" stroke="${s.color}" stroke-width="2"/>`,
      `<line x1="${WIDTH - MARGIN.right + 16}" y1="${MARGIN.top + 10 + k * 20}" x2="${WIDTH - MARGIN.right + 36}" y2="${MARGIN.top + 10 + k * 20}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${WIDTH - MARGIN.right + 42}" y="${MARGIN.top + 14 + k * 20}">${s.label}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
