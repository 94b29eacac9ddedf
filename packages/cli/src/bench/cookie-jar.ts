import { getSetCookies, Headers } from 'undici';

/**
 * One virtual user's cookies for the single origin a bench run talks to. Path, domain and expiry
 * beyond "deleted now" do not matter there, so this keeps name → value and honours deletions only.
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(setCookie: string | string[] | undefined): void {
    if (setCookie === undefined) return;
    const headers = new Headers();
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) headers.append('set-cookie', line);
    for (const c of getSetCookies(headers)) {
      const expired =
        c.maxAge !== undefined
          ? c.maxAge <= 0
          : c.expires instanceof Date && c.expires.getTime() <= Date.now();
      if (expired || c.value === '') this.#cookies.delete(c.name);
      else this.#cookies.set(c.name, c.value);
    }
  }

  has(name: string): boolean {
    return this.#cookies.has(name);
  }

  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  clear(): void {
    this.#cookies.clear();
  }
}
