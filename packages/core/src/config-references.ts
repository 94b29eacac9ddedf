import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/**
 * References in configuration values, expanded when the configuration is loaded:
 * - `${env:NAME}`: the environment variable NAME; unset (or empty) is an error naming it.
 * - `${file:PATH}`: the content of the file at PATH (relative to the configuration file's folder),
 *   without its final newline: how Docker and Kubernetes hand secrets over.
 * A reference may be the whole value or part of it (`postgres://app:${env:DB_PASSWORD}@db/app`).
 * Anything else of the form `${...}` left in a value is refused: a literal `${BFF_CLIENT_SECRET}`
 * must never become the secret itself.
 */
const REFERENCE = /\$\{(env|file):([^}]*)\}/g;
const PLACEHOLDER = /\$\{[^}]*\}/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ReferenceContext {
  env: Record<string, string | undefined>;
  /** Folder relative `${file:...}` paths start from. */
  baseDir: string;
}

/** Expand every reference in the string values of `node`, in place; one problem per bad value. */
export function expandReferences(
  node: unknown,
  context: ReferenceContext,
  problems: Array<{ path: string; message: string }>,
  path: string[] = [],
): unknown {
  if (typeof node === 'string') return expandValue(node, context, problems, path.join('.') || '(root)');
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++)
      node[i] = expandReferences(node[i], context, problems, [...path, String(i)]);
    return node;
  }
  if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      record[key] = expandReferences(record[key], context, problems, [...path, key]);
    }
  }
  return node;
}

function expandValue(
  value: string,
  context: ReferenceContext,
  problems: Array<{ path: string; message: string }>,
  path: string,
): string {
  if (!value.includes('${')) return value;
  let failed = false;
  const expanded = value.replace(REFERENCE, (_whole, kind: string, ref: string) => {
    if (failed) return '';
    const name = ref.trim();
    if (kind === 'env') {
      if (!ENV_NAME.test(name)) {
        failed = true;
        problems.push({ path, message: `\${env:${name}} is not a valid environment variable name` });
        return '';
      }
      const v = context.env[name];
      if (v === undefined || v === '') {
        failed = true;
        problems.push({ path, message: `environment variable ${name} is not set (\${env:${name}})` });
        return '';
      }
      return v;
    }
    const file = isAbsolute(name) ? name : resolve(context.baseDir, name);
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      failed = true;
      problems.push({
        path,
        message: `cannot read ${name} (\${file:${name}}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
      return '';
    }
  });
  if (failed) return value;
  // Checked on the value as written (an expanded secret may contain anything).
  const leftover = value.replace(REFERENCE, '');
  const placeholder = PLACEHOLDER.exec(leftover);
  if (placeholder) {
    const inner = placeholder[0].slice(2, -1);
    problems.push({
      path,
      message: `${placeholder[0]} is a placeholder, not a value: write \${env:${ENV_NAME.test(inner) ? inner : 'NAME'}} to read an environment variable, or \${file:PATH} to read a file`,
    });
    return value;
  }
  return expanded;
}
