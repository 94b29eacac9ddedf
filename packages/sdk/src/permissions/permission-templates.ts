import type { Principal } from '../principal.ts';

/**
 * How a permission question is built from a request: the object from a template over path
 * parameters (`document:{id}`), the user from a template over the token's claims (`user:{sub}`).
 * A value that could change what is named is refused (undefined): an object id is plain characters
 * only, so a path segment cannot name another object; a claim cannot carry `:`, `#`, `*` or spaces,
 * so it cannot become another type, a userset or a wildcard.
 */
export interface SubjectTemplates {
  /** For a person's token. Default `user:{sub}`. */
  user?: string | undefined;
  /** For a service's token (client credentials). Default `client:{client_id}`. */
  service?: string | undefined;
}

export const defaultSubjectTemplates = { user: 'user:{sub}', service: 'client:{client_id}' } as const;

const PLACEHOLDER = /\{([A-Za-z0-9_]+)\}/g;
const SAFE_PARAM = /^[A-Za-z0-9._~-]{1,256}$/;
const SAFE_CLAIM = /^[^\s#:*\u0000-\u001f\u007f]{1,256}$/;

function fill(
  template: string,
  value: (name: string) => string | undefined,
  safe: RegExp,
): string | undefined {
  let bad = false;
  const out = template.replace(PLACEHOLDER, (_, name: string) => {
    const v = value(name);
    if (v === undefined || !safe.test(v)) bad = true;
    return v ?? '';
  });
  return bad ? undefined : out;
}

/** `document:{id}` with `{id}` from the route's parameters; undefined when one is missing or unsafe. */
export function permissionObject(
  template: string,
  params: Readonly<Record<string, string>>,
): string | undefined {
  return fill(template, (name) => (Object.hasOwn(params, name) ? params[name] : undefined), SAFE_PARAM);
}

/** The caller as a permission user: the template for its kind over its claims (`{sub}`, `{client_id}`, ...). */
export function permissionSubject(
  principal: Principal,
  templates: SubjectTemplates = {},
): string | undefined {
  const template =
    principal.kind === 'service'
      ? (templates.service ?? defaultSubjectTemplates.service)
      : (templates.user ?? defaultSubjectTemplates.user);
  return fill(
    template,
    (name) => {
      if (name === 'sub') return principal.subject;
      if (name === 'client_id') return principal.clientId || undefined;
      const v = Object.hasOwn(principal.claims, name) ? principal.claims[name] : undefined;
      return typeof v === 'string' ? v : undefined;
    },
    SAFE_CLAIM,
  );
}
