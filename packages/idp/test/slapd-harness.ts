import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real OpenLDAP `slapd` (Debian's package) for tests, on 127.0.0.1 at a free port, from a
 * generated slapd.conf and an mdb database in a temp folder: the system's slapd config is never read.
 * The suffix is `dc=example,dc=org` with `ou=people` and `ou=groups`; the memberof overlay keeps
 * `memberOf` on people, the ppolicy overlay knows `pwdAccountLockedTime`. A read-only service account
 * `cn=reader,dc=example,dc=org` may search; the root DN writes the seed with `ldapadd`.
 */
const SLAPD = '/usr/sbin/slapd';
const LDAPADD = '/usr/bin/ldapadd';
const LDAPMODIFY = '/usr/bin/ldapmodify';
const LDAPSEARCH = '/usr/bin/ldapsearch';
const MODULES = '/usr/lib/ldap';
const OPENSSL = '/usr/bin/openssl';

export const BASE_DN = 'dc=example,dc=org';
export const READER_DN = `cn=reader,${BASE_DN}`;
export const READER_PASSWORD = 'reader-service-password';
const ROOT_DN = `cn=admin,${BASE_DN}`;
const ROOT_PASSWORD = 'slapd-root-password-for-tests';

/** Why slapd cannot run here, or undefined when it can. */
export function slapdMissing(): string | undefined {
  for (const file of [SLAPD, LDAPADD, LDAPSEARCH]) {
    if (!existsSync(file)) return `${file} not found (apt-get install -y slapd ldap-utils)`;
  }
  if (!existsSync(join(MODULES, 'back_mdb.so'))) return `${MODULES}/back_mdb.so not found`;
  return undefined;
}

/** Fail under CI=true, skip (with the reason printed) elsewhere. */
export function slapdSkip(): false | string {
  const missing = slapdMissing();
  if (missing && process.env['CI'] === 'true') throw new Error(`CI=true and ${missing}`);
  if (missing) process.stderr.write(`# skipping slapd tests: ${missing}\n`);
  return missing ?? false;
}

export interface Slapd {
  /** ldap://127.0.0.1:<port> */
  url: string;
  /** With `tls`: ldaps://127.0.0.1:<another port>. */
  ldapsUrl: string | undefined;
  /** With `tls`: the PEM of the CA that signed the server's certificate (for 127.0.0.1). */
  caFile: string | undefined;
  /** LDIF through ldapadd as the root DN. */
  add(ldif: string): Promise<void>;
  /** LDIF through ldapmodify as the root DN (changetype records). */
  modify(ldif: string): Promise<void>;
  /** Stop the server (the data stays): the directory is down. */
  stop(): Promise<void>;
  /** Start it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stop it and remove its folder. */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function run(file: string, args: string[], input?: string, env = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 15_000, env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
    // A tool that exits without reading its input (ldapsearch) closes the pipe: not an error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

const baseLdif = `dn: ${BASE_DN}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ${READER_DN}
objectClass: simpleSecurityObject
objectClass: organizationalRole
cn: reader
userPassword: ${READER_PASSWORD}

dn: ou=people,${BASE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${BASE_DN}
objectClass: organizationalUnit
ou: groups
`;

/** A CA and a server certificate for 127.0.0.1 and localhost, made with openssl in `dir`. */
async function makeCertificates(dir: string): Promise<void> {
  const at = (f: string) => join(dir, f);
  await run(OPENSSL, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=Gatehouse test CA',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.pem'),
  ]);
  await run(OPENSSL, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    at('server.key'),
    '-out',
    at('server.csr'),
  ]);
  writeFileSync(at('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await run(OPENSSL, [
    'x509',
    '-req',
    '-in',
    at('server.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    at('ext.cnf'),
    '-out',
    at('server.pem'),
  ]);
}

/**
 * `tls`: the server also listens on ldaps://, offers StartTLS on ldap://, and refuses any bind or
 * search on a connection without TLS (`security tls=1`), so a client that skipped StartTLS fails.
 */
export async function startSlapd(seed = '', options: { tls?: boolean } = {}): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-slapd-'));
  mkdirSync(join(dir, 'db'));
  if (options.tls) await makeCertificates(dir);
  const tlsConf = options.tls
    ? `TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server.key
`
    : '';
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    `# Generated by packages/idp/test/slapd-harness.ts
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile ${dir}/slapd.pid
${tlsConf}
modulepath ${MODULES}
moduleload back_mdb
moduleload ppolicy
moduleload memberof
database mdb
suffix "${BASE_DN}"
rootdn "${ROOT_DN}"
rootpw ${ROOT_PASSWORD}
directory ${dir}/db
maxsize 16777216
overlay ppolicy
overlay memberof
${options.tls ? 'security tls=1\n' : ''}access to attrs=userPassword by self read by anonymous auth by * none
access to * by dn.exact="${READER_DN}" read by * none
`,
  );
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = options.tls ? `ldaps://127.0.0.1:${await freePort()}` : undefined;
  // ldap-utils trust the test CA through the environment; -ZZ makes them insist on StartTLS.
  const env = options.tls ? { ...process.env, LDAPTLS_CACERT: join(dir, 'ca.pem') } : process.env;
  const tlsArgs = options.tls ? ['-ZZ'] : [];
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    output = '';
    // -d 0: stay in the foreground (a child the test owns), without debug output.
    const listen = ldapsUrl ? `${url}/ ${ldapsUrl}/` : `${url}/`;
    child = spawn(SLAPD, ['-f', conf, '-h', listen, '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => {
      output += d;
    });
    child.stderr!.on('data', (d) => {
      output += d;
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${output}`);
      try {
        await run(
          LDAPSEARCH,
          ['-x', ...tlsArgs, '-H', url, '-s', 'base', '-b', '', '-LLL', 'namingContexts'],
          undefined,
          env,
        );
        return;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`slapd did not answer: ${(err as Error).message} ${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    await exited;
  }

  const orphanGuard = () => child?.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const rootArgs = ['-x', ...tlsArgs, '-H', url, '-D', ROOT_DN, '-w', ROOT_PASSWORD];
  const slapd: Slapd = {
    url,
    ldapsUrl,
    caFile: options.tls ? join(dir, 'ca.pem') : undefined,
    add: async (ldif) => {
      await run(LDAPADD, rootArgs, ldif, env);
    },
    modify: async (ldif) => {
      await run(LDAPMODIFY, rootArgs, ldif, env);
    },
    stop,
    start,
    async close() {
      process.off('exit', orphanGuard);
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await start();
    await slapd.add(baseLdif + (seed ? `\n${seed}` : ''));
  } catch (err) {
    await slapd.close();
    throw err;
  }
  return slapd;
}

/** A DN attribute value with RFC 4514's special characters escaped. */
const dnValue = (value: string) => value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`);

/** An inetOrgPerson under ou=people (LDIF), with extra attribute lines. */
export function person(uid: string, password: string, extra: string[] = []): string {
  return [
    `dn: uid=${dnValue(uid)},ou=people,${BASE_DN}`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${uid} from the directory`,
    `sn: ${uid}`,
    `userPassword: ${password}`,
    ...extra,
    '',
  ].join('\n');
}

/** A groupOfNames under ou=groups whose members are people uids (LDIF). */
export function group(cn: string, memberUids: string[]): string {
  return [
    `dn: cn=${cn},ou=groups,${BASE_DN}`,
    'objectClass: groupOfNames',
    `cn: ${cn}`,
    ...memberUids.map((uid) => `member: uid=${uid},ou=people,${BASE_DN}`),
    '',
  ].join('\n');
}
