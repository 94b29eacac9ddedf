/**
 * The gateway answers with the sdk verifier's strict reading of a token: one token has at most its
 * two ECDSA spellings, a token with an ambiguous text or claims is refused with its own code, and an
 * unexpected fault inside verification is a 401 SDK_VERIFICATION_FAILED that the log explains.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createVerifier } from '@gatehouse/sdk';
import {
  AUDIENCE,
  type Harness,
  ISSUER,
  type Keys,
  makeKeys,
  mintToken,
  nowSec,
  send,
  startEcho,
  startGateway,
  type Upstream,
} from './harness.ts';

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const routes = (upstream: Upstream) => ({
  routes: [{ id: 'echo', match: { path: '/echo' }, upstreams: [upstream.url], policy: 'authenticated' }],
});
const bearer = (token: string): [string, string][] => [['Authorization', `Bearer ${token}`]];

function twinOf(token: string): string {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  const twin = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  return `${token.slice(0, dot + 1)}${Buffer.concat([signature.subarray(0, 32), twin]).toString('base64url')}`;
}

/** ES256 over these exact texts with `keys`: JSON no library would write. */
async function signText(keys: Keys, header: string, claims: string): Promise<string> {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(claims).toString('base64url')}`;
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    keys.privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

let upstream: Upstream;
before(async () => {
  upstream = await startEcho();
});
after(() => upstream.close());

describe('one token, one meaning, at the gateway', () => {
  let keys: Keys;
  let gw: Harness;
  const verifier = createVerifier({
    issuer: ISSUER,
    audiences: [AUDIENCE],
    getKey: async () => keys.publicKey,
  });
  before(async () => {
    keys = await makeKeys('key-1');
    gw = await startGateway(routes(upstream), { keys, extra: { verifier } });
  });
  after(() => gw.close());

  test('a token and its ECDSA twin both pass, verified once and answered from one cache entry', async () => {
    const token = await mintToken(keys);
    const before = { ...verifier.stats };
    for (const spelling of [token, twinOf(token), token, twinOf(token)]) {
      const a = await send(gw.url, '/echo', { headers: bearer(spelling) });
      assert.equal(a.status, 200, a.text);
    }
    assert.deepEqual(
      { hits: verifier.stats.hits - before.hits, misses: verifier.stats.misses - before.misses },
      { hits: 3, misses: 1 },
    );
  });

  const header = () => JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'key-1' });
  const claims = (extra: string) => {
    const now = nowSec();
    const base = JSON.stringify({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'alice',
      client_id: 'web',
      jti: 'j1',
      iat: now,
    });
    return `${base.slice(0, -1)},${extra}}`;
  };
  const cases: [string, () => Promise<string>, string][] = [
    [
      'the last signature character re-spelled in its unused bits',
      async () => {
        const token = await mintToken(keys);
        const last = token.at(-1) ?? 'A';
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        // Same upper two bits, different unused lower four: the same bytes to a lenient decoder.
        const other = alphabet[(alphabet.indexOf(last) & 0b110000) | (~alphabet.indexOf(last) & 0b001111)]!;
        return token.slice(0, -1) + other;
      },
      'SDK_TOKEN_NOT_CANONICAL',
    ],
    ['exp 1e400', () => signText(keys, header(), claims('"exp":1e400')), 'SDK_CLAIM_TIME_INVALID'],
    ['exp 1e12', () => signText(keys, header(), claims('"exp":1000000000000')), 'SDK_CLAIM_TIME_INVALID'],
    [
      'nbf -1e400',
      () => signText(keys, header(), claims(`"exp":${nowSec() + 60},"nbf":-1e400`)),
      'SDK_CLAIM_TIME_INVALID',
    ],
    [
      'an aud list with a number',
      async () => mintToken(keys, { aud: [AUDIENCE, 7] as unknown as string[] }),
      'SDK_CLAIM_TYPE_INVALID',
    ],
    [
      'sub twice',
      () => signText(keys, header(), claims(`"exp":${nowSec() + 60},"sub":"admin"`)),
      'SDK_DUPLICATE_MEMBER',
    ],
    [
      'b64 false without crit',
      () => signText(keys, `${header().slice(0, -1)},"b64":false}`, claims(`"exp":${nowSec() + 60}`)),
      'SDK_HEADER_CRIT_INVALID',
    ],
  ];
  for (const [name, make, code] of cases) {
    test(`${name}: 401 ${code}`, async () => {
      const a = await send(gw.url, '/echo', { headers: bearer(await make()) });
      assert.equal(a.status, 401, a.text);
      assert.equal(a.json().error, code);
      assert.match(String(a.headers['www-authenticate']), /^Bearer realm="gatehouse", error="invalid_token"/);
    });
  }
});

describe('an unexpected fault inside verification', () => {
  let gw: Harness;
  before(async () => {
    gw = await startGateway(routes(upstream), {
      extra: {
        getKey: async () => {
          throw new TypeError('the key store returned garbage');
        },
      },
    });
  });
  after(() => gw.close());

  test('is 401 SDK_VERIFICATION_FAILED to the client and logged with its cause', async () => {
    const a = await send(gw.url, '/echo', { headers: bearer(await mintToken(gw.keys)) });
    assert.equal(a.status, 401, a.text);
    assert.equal(a.json().error, 'SDK_VERIFICATION_FAILED');
    assert.match(String(a.headers['www-authenticate']), /^Bearer realm="gatehouse", error="invalid_token"/);
    assert.doesNotMatch(a.text, /key store/);
    const line = gw.logLines().find((l) => l['code'] === 'SDK_VERIFICATION_FAILED');
    assert.ok(line, 'a log line names the code');
    assert.match(JSON.stringify(line['err']), /the key store returned garbage/);
  });
});
