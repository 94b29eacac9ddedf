// The Chromium steps the browser tests share: whether Chromium is here (a test is skipped without
// it, except under CI where a skip would hide a regression), launching it headless, the hosted login
// page's password step, a virtual WebAuthn authenticator (CDP's WebAuthn domain) and the in-page
// helpers that turn WebAuthn's JSON options (base64url) into navigator.credentials calls and back.
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * The reason to skip a browser test (`false` to run it): Chromium missing. Under CI a missing
 * Chromium fails the test instead, so the browser journeys are never skipped there unnoticed.
 */
export function chromiumSkip(what: string): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is not installed`;
  if (process.env['CI'] === 'true') throw new Error(`${reason}: ${what} cannot be skipped under CI`);
  process.stderr.write(`# skipping ${what}: ${reason}\n`);
  return reason;
}

/** Chromium, headless, without the sandbox (tests run as root in containers). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 60_000,
  });
}

/** The hosted login page's first step: username and password, then wait for the next page to load. */
export async function passwordStep(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await Promise.all([
    page.waitForLoadState('load'),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
}

/** A platform authenticator that verifies its user: what a phone or laptop with a fingerprint is. */
const PLATFORM_AUTHENTICATOR = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
} as const;

export interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
}

/** Turn on CDP's WebAuthn domain for `page` and give it a virtual platform authenticator. */
export async function addVirtualAuthenticator(
  context: BrowserContext,
  page: Page,
): Promise<VirtualAuthenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: PLATFORM_AUTHENTICATOR,
  });
  return { cdp, authenticatorId };
}

/** Another virtual platform authenticator on the same CDP session (Chromium asks one at a time). */
export async function replaceVirtualAuthenticator(cdp: CDPSession, authenticatorId: string): Promise<string> {
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
  return (await cdp.send('WebAuthn.addVirtualAuthenticator', { options: PLATFORM_AUTHENTICATOR }))
    .authenticatorId;
}

/**
 * In the page: `b64` and `bytes` (base64url both ways), and WebAuthn's JSON form of
 * navigator.credentials.create/get as `createPasskey(options)` and `getPasskey(options)`.
 */
export const WEBAUTHN_IN_PAGE = `
  window.b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/[+]/g, '-').replace(/[/]/g, '_').replace(/=+$/, '');
  window.bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  window.createPasskey = async (o) => {
    const cred = await navigator.credentials.create({ publicKey: { ...o, challenge: bytes(o.challenge),
      user: { ...o.user, id: bytes(o.user.id) },
      excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: bytes(c.id) })) } });
    return { id: cred.id, rawId: b64(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(),
      response: { clientDataJSON: b64(cred.response.clientDataJSON), attestationObject: b64(cred.response.attestationObject),
        transports: cred.response.getTransports() } };
  };
  window.getPasskey = async (o) => {
    const cred = await navigator.credentials.get({ publicKey: { ...o, challenge: bytes(o.challenge),
      allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: bytes(c.id) })) } });
    const r = cred.response;
    return { id: cred.id, rawId: b64(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(),
      response: { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData),
        signature: b64(r.signature), userHandle: r.userHandle ? b64(r.userHandle) : undefined } };
  };
`;
