import { escapeHtml } from '@gatehouse/core';

/** A tagged template that escapes each interpolation unless it is already markup (`raw`). */
export class Markup {
  readonly html: string;
  constructor(html: string) {
    this.html = html;
  }
  toString(): string {
    return this.html;
  }
}

export const raw = (html: string): Markup => new Markup(html);

export function html(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  let out = strings[0]!;
  values.forEach((v, i) => {
    const part = Array.isArray(v)
      ? v.map((x) => (x instanceof Markup ? x.html : escapeHtml(x))).join('')
      : v instanceof Markup
        ? v.html
        : v === undefined || v === null || v === false
          ? ''
          : escapeHtml(v);
    out += part + strings[i + 1]!;
  });
  return new Markup(out);
}
