import { WEBAUTHN_IN_PAGE } from '../mfa/webauthn-in-page.ts';

/**
 * The browser side of adding a passkey on the account page, inlined under the page's CSP nonce: it
 * asks the `data-options` URL for creation options, calls `navigator.credentials.create`, and posts
 * the attestation (WebAuthn's JSON form, base64url) with the form. The server checks everything
 * (mfa/passkeys.ts); without the script, or without WebAuthn, the form stays hidden.
 */
export const ACCOUNT_PASSKEY_SCRIPT = `(() => {
  const root = document.getElementById('add-passkey');
  if (!root || !window.PublicKeyCredential) return;
  root.hidden = false;
  const form = document.getElementById('add-passkey-form');
  const status = document.getElementById('passkey-status');
  ${WEBAUTHN_IN_PAGE}
  form.addEventListener('submit', async (event) => {
    if (form.elements.credential.value) return;
    event.preventDefault();
    status.textContent = 'Follow your browser to create the passkey.';
    try {
      const o = await passkeyOptions(root.dataset.options, form.elements.csrf.value);
      const publicKey = {
        ...o,
        challenge: bytes(o.challenge),
        user: { ...o.user, id: bytes(o.user.id) },
        excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: bytes(c.id) })),
      };
      const cred = await navigator.credentials.create({ publicKey });
      const r = cred.response;
      form.elements.credential.value = credentialJson(cred, {
        attestationObject: b64(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : [],
      });
      form.submit();
    } catch (err) {
      status.textContent = 'The passkey was not created.';
    }
  });
})();`;
