import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveDirectoryConfig } from '../src/directory/directory-config.ts';

const valid = {
  enabled: true,
  url: 'ldap://ldap.example.org:389',
  userSearch: { base: 'ou=people,dc=example,dc=org' },
};

describe('idp.directory configuration', () => {
  test('off by default, with every default filled in', () => {
    const config = resolveDirectoryConfig({});
    assert.equal(config.enabled, false);
    assert.equal(config.precedence, 'local-first');
    assert.equal(config.attributes.username, 'uid');
    assert.equal(config.poolSize, 4);
  });

  test('a valid section resolves', () => {
    assert.equal(resolveDirectoryConfig(valid).userSearch.filter, '(objectClass=inetOrgPerson)');
  });

  for (const [what, section, message] of [
    ['an unknown key', { ...valid, bindPasword: 'x' }, /must NOT have additional properties/],
    ['a URL that is not LDAP', { ...valid, url: 'http://ldap.example.org' }, /must match pattern/],
    ['no URL', { ...valid, url: undefined }, /url is required/],
    ['no search base', { ...valid, userSearch: {} }, /userSearch.base is required/],
    [
      'a user filter that does not parse',
      { ...valid, userSearch: { base: 'dc=x', filter: '(uid=' } },
      /userSearch.filter is not an LDAP filter/,
    ],
    [
      'a disabled filter that does not parse',
      { ...valid, disabledFilter: 'employeeType=x)(' },
      /disabledFilter is not an LDAP filter/,
    ],
    [
      'StartTLS on ldaps://',
      { ...valid, url: 'ldaps://ldap.example.org', startTls: true },
      /startTls is for ldap/,
    ],
    [
      'a bind DN without its password',
      { ...valid, bindDn: 'cn=reader,dc=example,dc=org' },
      /bindPassword is required/,
    ],
    ['a group search without a base', { ...valid, groups: { mode: 'search' } }, /groups.base is required/],
    [
      'a role that is not a role name',
      { ...valid, groups: { roles: { 'cn=a': ['Admin!'] } } },
      /must match pattern/,
    ],
  ] as const)
    test(`refuses ${what} with IDP_CONFIG_INVALID`, () => {
      assert.throws(
        () => resolveDirectoryConfig(section),
        (err: { code?: string; message: string }) => {
          assert.equal(err.code, 'IDP_CONFIG_INVALID');
          assert.match(err.message, message);
          return true;
        },
      );
    });

  test('production refuses passwords in clear: ldap:// needs StartTLS there', () => {
    assert.throws(() => resolveDirectoryConfig(valid, 'production'), { code: 'IDP_CONFIG_INVALID' });
    assert.equal(resolveDirectoryConfig({ ...valid, startTls: true }, 'production').startTls, true);
    assert.equal(
      resolveDirectoryConfig({ ...valid, url: 'ldaps://ldap.example.org' }, 'production').enabled,
      true,
    );
  });
});
