import { WEBAUTHN_IN_PAGE } from './webauthn-in-page.ts';

/**
 * The browser side of a passkey sign-in on the hosted pages, inlined under the page's CSP nonce (no
 * third-party script): it asks the page's `data-options` URL for the assertion options, calls
 * `navigator.credentials.get` (conditional UI on the username field when the browser offers it, or
 * on the button), and posts the assertion, base64url-encoded as WebAuthn's JSON form, in the
 * `data-form` form. The server checks everything (passkeys.ts); this only moves bytes.
 */
export const PASSKEY_SCRIPT = `(() => {
  const root = document.getElementById('passkey');
  if (!root || !window.PublicKeyCredential) return;
  root.hidden = false;
  const form = document.getElementById(root.dataset.form);
  const csrf = form.elements.csrf.value;
  ${WEBAUTHN_IN_PAGE}
  let pending;
  async function signIn(mediation) {
    pending?.abort();
    const abort = new AbortController();
    pending = abort;
    const o = await passkeyOptions(root.dataset.options, csrf);
    const publicKey = {
      ...o,
      challenge: bytes(o.challenge),
      allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: bytes(c.id) })),
    };
    const cred = await navigator.credentials.get({ publicKey, mediation, signal: abort.signal });
    if (!cred) return;
    const r = cred.response;
    form.elements.credential.value = credentialJson(cred, {
      authenticatorData: b64(r.authenticatorData),
      signature: b64(r.signature),
      userHandle: r.userHandle ? b64(r.userHandle) : undefined,
    });
    form.submit();
  }
  const report = (err) => {
    if (err && err.name === 'AbortError') return;
    const out = document.getElementById('passkey-error');
    if (out) out.textContent = 'The passkey sign-in did not complete.';
  };
  document.getElementById('passkey-button').addEventListener('click', () => signIn('optional').catch(report));
  if (root.dataset.conditional === 'true' && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then((yes) => yes && signIn('conditional').catch(report));
  }
})();`;

/** The passkey button and its form (the script fills and posts it); hidden until the script runs. */
export function passkeyBlock(input: {
  action: string;
  optionsAction: string;
  csrf: string;
  label: string;
  conditional: boolean;
  escape: (v: unknown) => string;
}): string {
  const e = input.escape;
  return `<div id="passkey" hidden data-form="passkey-form" data-options="${e(input.optionsAction)}" data-conditional="${input.conditional}">
<form id="passkey-form" method="post" action="${e(input.action)}">
<input type="hidden" name="csrf" value="${e(input.csrf)}">
<input type="hidden" name="credential" value="">
</form>
<button type="button" id="passkey-button" class="secondary">${e(input.label)}</button>
<p id="passkey-error" aria-live="polite"></p>
</div>`;
}
