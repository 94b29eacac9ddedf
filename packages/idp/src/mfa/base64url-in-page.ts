/**
 * base64url both ways for the pages' passkey scripts (passkey-script.ts, the account page's): WebAuthn
 * hands out ArrayBuffers, its JSON form carries them base64url-encoded. `b64(buffer)` encodes, and
 * `bytes(text)` decodes to a Uint8Array. Inlined in each script's scope, not a global.
 */
export const BASE64URL_IN_PAGE = `const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/[+]/g, '-').replace(/[/]/g, '_').replace(/=+$/, '');
  const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));`;
