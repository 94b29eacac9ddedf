import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { createDevCa, issueCertificate } from '@gatehouse/cli';
import { idpTrustedProxies } from '../src/http/client-address.ts';
import { forwardedClientCertificate } from '../src/http/forwarded-client-certificate.ts';

function requestFrom(peer: string, header: string | undefined): IncomingMessage {
  return {
    headers: header === undefined ? {} : { 'x-gatehouse-client-cert': header },
    socket: { remoteAddress: peer },
  } as unknown as IncomingMessage;
}

describe('the client certificate the gateway forwards (RFC 8705)', async () => {
  const ca = await createDevCa();
  const robot = await issueCertificate(ca, { name: 'robot', server: false, client: true });
  const gateway = idpTrustedProxies(['10.0.0.1']);

  test('from the trusted gateway, the URL-encoded PEM is read as that certificate', () => {
    const cert = forwardedClientCertificate(requestFrom('10.0.0.1', encodeURIComponent(robot.cert)), gateway);
    assert.match(cert?.subject ?? '', /CN=robot/);
  });

  test('from any other peer the header is ignored', () => {
    assert.equal(
      forwardedClientCertificate(requestFrom('10.0.0.2', encodeURIComponent(robot.cert)), gateway),
      undefined,
    );
  });

  test('a malformed or oversized value counts as no certificate', () => {
    assert.equal(
      forwardedClientCertificate(requestFrom('10.0.0.1', 'not-a-certificate'), gateway),
      undefined,
    );
    assert.equal(forwardedClientCertificate(requestFrom('10.0.0.1', '%E0%A4%A'), gateway), undefined);
    assert.equal(forwardedClientCertificate(requestFrom('10.0.0.1', 'x'.repeat(20000)), gateway), undefined);
    assert.equal(forwardedClientCertificate(requestFrom('10.0.0.1', undefined), gateway), undefined);
  });
});
