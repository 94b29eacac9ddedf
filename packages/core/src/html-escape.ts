/**
 * HTML text and attribute escaping, for every server-rendered page and SVG: the characters that
 * can end a text node or an attribute, quoted or not (backtick and `=` included for the unquoted
 * case), as numeric references. Values are stringified first, so numbers and absent values render
 * as text, never as markup.
 */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}
