import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { browserLoginLocation } from '../src/auth/browser-login.ts';
import type { RouteConfig } from '../src/contracts.ts';
import { gatewayErrors } from '../src/errors.ts';

const LOGIN = '/_gatehouse/bff/login';
const page = { id: 'page', browser: true } as RouteConfig;
const api = { id: 'api' } as RouteConfig;
const missing = gatewayErrors.create('GW_BFF_SESSION_EXPIRED');

function req(url: string, method = 'GET', accept = 'text/html,application/xhtml+xml'): IncomingMessage {
  return { url, method, headers: { accept } } as IncomingMessage;
}

describe('a page for people sends an unauthenticated browser to sign in', () => {
  test('GET with text/html on a browser route goes to the login with the way back', () => {
    assert.equal(
      browserLoginLocation(req('/dashboard?a=1&b=2'), page, missing, LOGIN),
      '/_gatehouse/bff/login?return_to=%2Fdashboard%3Fa%3D1%26b%3D2',
    );
    assert.equal(
      browserLoginLocation(req('/dashboard', 'HEAD'), page, missing, LOGIN)?.startsWith(LOGIN),
      true,
    );
  });

  test('an API route, another method, or a client that does not ask for HTML keeps its 401', () => {
    assert.equal(browserLoginLocation(req('/dashboard'), api, missing, LOGIN), undefined);
    assert.equal(browserLoginLocation(req('/dashboard'), undefined, missing, LOGIN), undefined);
    assert.equal(browserLoginLocation(req('/dashboard', 'POST'), page, missing, LOGIN), undefined);
    assert.equal(
      browserLoginLocation(req('/dashboard', 'GET', 'application/json'), page, missing, LOGIN),
      undefined,
    );
  });

  test('only a 401 leads to the login: a refusal (403) or an outage stays what it is', () => {
    assert.equal(
      browserLoginLocation(req('/d'), page, gatewayErrors.create('GW_PERMISSION_DENIED'), LOGIN),
      undefined,
    );
    assert.equal(
      browserLoginLocation(req('/d'), page, gatewayErrors.create('GW_NO_HEALTHY_UPSTREAM'), LOGIN),
      undefined,
    );
  });

  test('a target that would read as another origin is never carried to the login', () => {
    for (const target of ['//evil.example/x', '/\\evil.example', 'http://evil.example/']) {
      assert.equal(browserLoginLocation(req(target), page, missing, LOGIN), undefined, target);
    }
  });
});
