/**
 * Reads the forms of the identity provider's login and consent pages so that a virtual user can
 * submit them like a browser. Hand-written with regular expressions because no HTML parser is a
 * dependency here and the bench only drives Gatehouse's own, simple pages (inputs and buttons).
 */
export interface HtmlForm {
  action: URL;
  method: string;
  /** Hidden and pre-filled fields, plus the first named submit button. */
  fields: Record<string, string>;
  /** Names of text-like inputs (candidates for the username) and of password inputs. */
  textInputs: string[];
  passwordInputs: string[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) => {
    if (e[0] === '#') {
      const code =
        e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[e.toLowerCase()] ?? whole;
  });
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([^\s=/"'>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    out[m[1]!.toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

export function findForms(html: string, pageUrl: URL): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1]!);
    const form: HtmlForm = {
      action: new URL(attrs.action || pageUrl.href, pageUrl),
      method: (attrs.method || 'get').toLowerCase(),
      fields: {},
      textInputs: [],
      passwordInputs: [],
    };
    let button = false;
    for (const tag of m[2]!.matchAll(/<(input|button)\b([^>]*)>/gi)) {
      const a = attributes(tag[2]!);
      const name = a.name;
      if (!name) continue;
      const type = (a.type || (tag[1]!.toLowerCase() === 'button' ? 'submit' : 'text')).toLowerCase();
      if (type === 'password') form.passwordInputs.push(name);
      else if (type === 'submit') {
        if (!button) form.fields[name] = a.value ?? '';
        button = true;
      } else if (type === 'checkbox' || type === 'radio') {
        if ('checked' in a) form.fields[name] = a.value || 'on';
      } else {
        if (type === 'text' || type === 'email') form.textInputs.push(name);
        if (a.value !== undefined && a.value !== '') form.fields[name] = a.value;
        else if (type === 'hidden') form.fields[name] = '';
      }
    }
    forms.push(form);
  }
  return forms;
}
