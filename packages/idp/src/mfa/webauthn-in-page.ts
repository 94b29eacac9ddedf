/**
 * What both passkey scripts of the pages (passkey-script.ts, the account page's) do alike, inlined
 * in each script's scope, not a global:
 * - `b64(buffer)` and `bytes(text)`: base64url both ways (WebAuthn hands out ArrayBuffers, its JSON
 *   form carries them base64url-encoded);
 * - `passkeyOptions(url, csrf)`: the creation or assertion options, asked for with the form's token;
 * - `credentialJson(cred, response)`: WebAuthn's JSON form of a credential, with the fields of its
 *   response that differ between a creation and an assertion.
 */
export const WEBAUTHN_IN_PAGE = `const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/[+]/g, '-').replace(/[/]/g, '_').replace(/=+$/, '');
  const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  const passkeyOptions = async (url, csrf) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }),
      credentials: 'same-origin',
    });
    if (!res.ok) throw new Error('passkey options refused');
    return res.json();
  };
  const credentialJson = (cred, response) => JSON.stringify({
    id: cred.id,
    rawId: b64(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: cred.getClientExtensionResults(),
    response: { clientDataJSON: b64(cred.response.clientDataJSON), ...response },
  });`;
