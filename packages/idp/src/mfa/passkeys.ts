import { randomUUID } from 'node:crypto';
import type { Logger, SharedState, Sql } from '@gatehouse/core';
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Audit } from '../audit/audit.ts';
import { idpErrors } from '../errors.ts';
import type { RelyingParty } from './passkey-config.ts';
import type { AttemptSource } from './second-factors.ts';

/**
 * Passkeys (WebAuthn, `@simplewebauthn/server`): several per account, named by their owner.
 *
 * - Every ceremony's challenge is made here, kept in the shared state under a key the caller names
 *   (the account for a registration, the sign-in for an assertion) for `challengeTtlSeconds`, and
 *   taken once: a second answer to it is refused even when two race (a marker set only if absent).
 * - Origin and RP ID are the configured ones (passkey-config.ts); the library checks the
 *   signature, the challenge, the origin, the RP ID hash and that the counter went up; the counter
 *   is then stored only if nobody stored a newer one meanwhile.
 * - Every refusal is one answer (IDP_PASSKEY_INVALID), its reason audited; registration, removal and
 *   use are audited too.
 * - amr (RFC 8176): `hwk` for a device-bound key, `swk` for a synced one.
 */
export interface PasskeySummary {
  id: string;
  name: string;
  deviceType: string;
  backedUp: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface PasskeyAssertion {
  accountId: string;
  passkeyId: string;
  /** The RFC 8176 method of the key: hwk or swk. */
  method: 'hwk' | 'swk';
  /** Whether the authenticator checked its user (PIN, biometric): a passkey alone is then two factors. */
  userVerified: boolean;
}

export interface Passkeys {
  readonly relyingParty: RelyingParty;
  registrationOptions(accountId: string, username: string): Promise<PublicKeyCredentialCreationOptionsJSON>;
  register(
    accountId: string,
    response: unknown,
    name: string,
    source: AttemptSource,
  ): Promise<PasskeySummary>;
  list(accountId: string): Promise<PasskeySummary[]>;
  rename(accountId: string, passkeyId: string, name: string): Promise<void>;
  remove(accountId: string, passkeyId: string, source: AttemptSource): Promise<void>;
  count(accountId: string): Promise<number>;
  /**
   * Options for an assertion, its challenge kept under `ceremony`: for `accountId`'s keys (a second
   * factor), or for any discoverable key (passwordless, the account told by the key).
   */
  assertionOptions(ceremony: string, accountId?: string): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /** Check an assertion against the challenge of `ceremony`; IDP_PASSKEY_INVALID when refused. */
  verifyAssertion(
    ceremony: string,
    response: unknown,
    expected: { accountId?: string | undefined; requireUserVerification: boolean },
    source: AttemptSource,
  ): Promise<PasskeyAssertion>;
  /** Remove every passkey of the account (an admin's reset); the number removed. */
  removeAll(accountId: string): Promise<number>;
}

interface PasskeyRow {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: Buffer;
  counter: string;
  transports: string[];
  device_type: string;
  backed_up: boolean;
  name: string;
  created_at: Date;
  last_used_at: Date | null;
}

const NAME = /^[^\p{Cc}]{1,64}$/u;
const CREDENTIAL_ID = /^[A-Za-z0-9_-]{16,1364}$/;

const summary = (r: PasskeyRow): PasskeySummary => ({
  id: r.id,
  name: r.name,
  deviceType: r.device_type,
  backedUp: r.backed_up,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at ? r.last_used_at.toISOString() : null,
});

export function createPasskeys(options: {
  sql: Sql;
  state: SharedState;
  audit: Audit;
  logger: Logger;
  relyingParty: RelyingParty;
}): Passkeys {
  const { sql, state, audit, logger, relyingParty: rp } = options;
  const ttlMs = rp.challengeTtlSeconds * 1000;
  const challengeKey = (ceremony: string) => `idp:passkey:challenge:${ceremony}`;

  async function keepChallenge(ceremony: string, challenge: string): Promise<void> {
    await state.delete(`${challengeKey(ceremony)}:used`);
    await state.set(challengeKey(ceremony), challenge, ttlMs);
  }

  /** The challenge of `ceremony`, handed out once (two racing answers: one gets it). */
  async function takeChallenge(ceremony: string): Promise<string | undefined> {
    const challenge = await state.get(challengeKey(ceremony));
    if (challenge === null) return undefined;
    const first = await state.setIfAbsent(`${challengeKey(ceremony)}:used`, '1', ttlMs);
    await state.delete(challengeKey(ceremony));
    return first ? challenge : undefined;
  }

  async function refuse(
    type: 'passkey.failed',
    source: AttemptSource,
    reason: string,
    accountId?: string,
  ): Promise<Error> {
    logger.info({ reason, via: source.via }, 'passkey refused');
    await audit.record({
      type,
      actor: accountId ?? 'anonymous',
      ...(accountId ? { subject: accountId } : {}),
      clientId: source.clientId,
      sourceIp: source.ip,
      details: { reason, via: source.via },
    });
    return idpErrors.create('IDP_PASSKEY_INVALID');
  }

  const rowsOf = (accountId: string) =>
    sql.query<PasskeyRow>('select * from idp_passkeys where user_id = $1 order by created_at, id', [
      accountId,
    ]);

  function checkName(name: string): string {
    const trimmed = name.trim();
    if (!NAME.test(trimmed)) {
      throw idpErrors.create('IDP_FIELD_INVALID', 'A passkey name is 1 to 64 printable characters');
    }
    return trimmed;
  }

  return {
    relyingParty: rp,

    async registrationOptions(accountId, username) {
      const existing = await rowsOf(accountId);
      const options = await generateRegistrationOptions({
        rpName: rp.rpName,
        rpID: rp.rpId,
        userName: username,
        userID: new TextEncoder().encode(accountId),
        attestationType: 'none',
        timeout: ttlMs,
        excludeCredentials: existing.map((r) => ({
          id: r.credential_id,
          transports: r.transports as AuthenticatorTransport[],
        })),
        // Discoverable: the same key signs in without a username (passwordless, conditional UI).
        authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
      });
      await keepChallenge(`registration:${accountId}`, options.challenge);
      return options;
    },

    async register(accountId, response, name, source) {
      const label = checkName(name);
      const challenge = await takeChallenge(`registration:${accountId}`);
      if (!challenge) throw await refuse('passkey.failed', source, 'no registration challenge', accountId);
      let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
      try {
        verified = await verifyRegistrationResponse({
          response: response as RegistrationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: rp.origins,
          expectedRPID: rp.rpId,
          requireUserVerification: false,
        });
      } catch (err) {
        throw await refuse('passkey.failed', source, `registration: ${(err as Error).message}`, accountId);
      }
      if (!verified.verified)
        throw await refuse('passkey.failed', source, 'registration not verified', accountId);
      const info = verified.registrationInfo;
      const id = randomUUID();
      const inserted = await sql.query<PasskeyRow>(
        `insert into idp_passkeys (id, user_id, credential_id, public_key, counter, transports, device_type, backed_up, name)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (credential_id) do nothing returning *`,
        [
          id,
          accountId,
          info.credential.id,
          Buffer.from(info.credential.publicKey),
          info.credential.counter,
          info.credential.transports ?? [],
          info.credentialDeviceType,
          info.credentialBackedUp,
          label,
        ],
      );
      if (inserted.length === 0)
        throw await refuse('passkey.failed', source, 'credential already registered', accountId);
      await audit.record({
        type: 'passkey.registered',
        actor: accountId,
        subject: accountId,
        clientId: source.clientId,
        sourceIp: source.ip,
        details: { passkeyId: id, deviceType: info.credentialDeviceType, via: source.via },
      });
      return summary(inserted[0]!);
    },

    async list(accountId) {
      return (await rowsOf(accountId)).map(summary);
    },

    async rename(accountId, passkeyId, name) {
      const label = checkName(name);
      const done = /^[0-9a-f-]{36}$/.test(passkeyId)
        ? await sql.query('update idp_passkeys set name = $3 where id = $1 and user_id = $2 returning id', [
            passkeyId,
            accountId,
            label,
          ])
        : [];
      if (done.length === 0) throw idpErrors.create('IDP_PASSKEY_NOT_FOUND');
    },

    async remove(accountId, passkeyId, source) {
      const done = /^[0-9a-f-]{36}$/.test(passkeyId)
        ? await sql.query('delete from idp_passkeys where id = $1 and user_id = $2 returning id', [
            passkeyId,
            accountId,
          ])
        : [];
      if (done.length === 0) throw idpErrors.create('IDP_PASSKEY_NOT_FOUND');
      await audit.record({
        type: 'passkey.removed',
        actor: accountId,
        subject: accountId,
        clientId: source.clientId,
        sourceIp: source.ip,
        details: { passkeyId, via: source.via },
      });
    },

    async count(accountId) {
      const [row] = await sql.query<{ n: number }>(
        'select count(*)::int as n from idp_passkeys where user_id = $1',
        [accountId],
      );
      return row?.n ?? 0;
    },

    async assertionOptions(ceremony, accountId) {
      const allow = accountId ? await rowsOf(accountId) : [];
      const options = await generateAuthenticationOptions({
        rpID: rp.rpId,
        timeout: ttlMs,
        userVerification: accountId ? 'preferred' : 'required',
        allowCredentials: allow.map((r) => ({
          id: r.credential_id,
          transports: r.transports as AuthenticatorTransport[],
        })),
      });
      await keepChallenge(`assertion:${ceremony}`, options.challenge);
      return options;
    },

    async verifyAssertion(ceremony, response, expected, source) {
      // The challenge is spent whatever follows; the key is looked up first only to name the account.
      const challenge = await takeChallenge(`assertion:${ceremony}`);
      const credentialId = (response as { id?: unknown } | null)?.id;
      const [row] =
        typeof credentialId === 'string' && CREDENTIAL_ID.test(credentialId)
          ? await sql.query<PasskeyRow>('select * from idp_passkeys where credential_id = $1', [credentialId])
          : [];
      if (!challenge)
        throw await refuse(
          'passkey.failed',
          source,
          'no sign-in challenge',
          row?.user_id ?? expected.accountId,
        );
      if (!row) throw await refuse('passkey.failed', source, 'unknown credential', expected.accountId);
      if (expected.accountId !== undefined && row.user_id !== expected.accountId) {
        throw await refuse('passkey.failed', source, "another account's passkey", expected.accountId);
      }
      let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
      try {
        verified = await verifyAuthenticationResponse({
          response: response as AuthenticationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: rp.origins,
          expectedRPID: rp.rpId,
          credential: {
            id: row.credential_id,
            publicKey: new Uint8Array(row.public_key),
            counter: Number(row.counter),
            transports: row.transports as AuthenticatorTransport[],
          },
          requireUserVerification: expected.requireUserVerification,
        });
      } catch (err) {
        throw await refuse('passkey.failed', source, (err as Error).message, row.user_id);
      }
      if (!verified.verified)
        throw await refuse('passkey.failed', source, 'assertion not verified', row.user_id);
      const { newCounter, userVerified } = verified.authenticationInfo;
      // Stored only over the value checked: of two assertions racing with one counter, one passes.
      const taken = await sql.query(
        `update idp_passkeys set counter = $2, last_used_at = now()
         where id = $1 and (counter < $2 or (counter = 0 and $2 = 0)) returning id`,
        [row.id, newCounter],
      );
      if (taken.length === 0) throw await refuse('passkey.failed', source, 'replayed counter', row.user_id);
      const method = row.device_type === 'multiDevice' ? 'swk' : 'hwk';
      await audit.record({
        type: 'passkey.used',
        actor: row.user_id,
        subject: row.user_id,
        clientId: source.clientId,
        sourceIp: source.ip,
        details: { passkeyId: row.id, userVerified, via: source.via },
      });
      return { accountId: row.user_id, passkeyId: row.id, method, userVerified };
    },

    async removeAll(accountId) {
      const removed = await sql.query('delete from idp_passkeys where user_id = $1 returning id', [
        accountId,
      ]);
      return removed.length;
    },
  };
}
