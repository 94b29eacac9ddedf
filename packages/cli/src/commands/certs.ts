import { isIP } from 'node:net';
import { CA_NAME, CertFileExistsError, readPair, SERVICE_NAME, writePair } from '../certs/cert-files.ts';
import type { Command } from '../command.ts';

const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function listOf(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value])
    .flatMap((v) => String(v).split(','))
    .filter((v) => v !== '');
}

function days(value: unknown, fallback: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 36500 ? n : undefined;
}

export const certsCommand: Command = {
  name: 'certs',
  summary: 'Make a development CA and service certificates for mTLS',
  usage:
    'gatehouse certs init --dir DIR [--days N] [--force]\n' +
    '       gatehouse certs issue --dir DIR --name NAME [--dns NAME]... [--ip ADDR]... [--server] [--client] [--days N] [--force]',
  help: `init     make a certificate authority: DIR/ca.crt and DIR/ca.key (ECDSA P-256, ten years)
issue    make a certificate for service NAME signed by that CA: DIR/NAME.crt and DIR/NAME.key
         (ECDSA P-256, one year). Usage: --server (the default) for a TLS server, --client for an
         mTLS caller; give both for a service that is both.

For development and tests only: production certificates come from your own PKI.
Keys are written with mode 0600. Existing files are never replaced without --force.

      --dir DIR       folder of the CA and certificates (created with mode 0700)
      --name NAME     service name: the certificate's CN, and its DNS name unless --dns is given
      --dns NAME      DNS subjectAltName (repeat, or comma-separated)
      --ip ADDR       IP subjectAltName (repeat, or comma-separated), e.g. 127.0.0.1
      --server        TLS server usage (serverAuth)
      --client        TLS client usage (clientAuth)
      --days N        validity in days
      --force         replace existing files`,
  options: {
    dir: { type: 'string' },
    name: { type: 'string' },
    dns: { type: 'string', multiple: true },
    ip: { type: 'string', multiple: true },
    server: { type: 'boolean' },
    client: { type: 'boolean' },
    days: { type: 'string' },
    force: { type: 'boolean' },
  },
  allowPositionals: true,
  async run({ values, positionals }) {
    // @peculiar/x509 and its reflect-metadata polyfill load only for this verb.
    const { createDevCa, issueCertificate } = await import('../certs/dev-ca.ts');
    const fail = (message: string, code = 2): number => {
      console.error(`gatehouse certs: ${message}`);
      return code;
    };
    const action = positionals[0];
    if ((action !== 'init' && action !== 'issue') || positionals.length > 1) {
      return fail(`say 'init' or 'issue'.\nUsage: ${certsCommand.usage}`);
    }
    const dir = values.dir;
    if (typeof dir !== 'string' || dir === '') return fail('--dir is required');
    const force = values.force === true;
    try {
      if (action === 'init') {
        const validDays = days(values.days, 3650);
        if (validDays === undefined) return fail('--days must be a whole number from 1 to 36500');
        const paths = await writePair(dir, CA_NAME, await createDevCa({ days: validDays }), force);
        console.log(`CA certificate ${paths.cert}\nCA key         ${paths.key} (keep it private)`);
        return 0;
      }
      const name = values.name;
      if (typeof name !== 'string' || !SERVICE_NAME.test(name) || name === CA_NAME) {
        return fail('--name is required: letters, digits, "." and "-", not "ca"');
      }
      const dns = listOf(values.dns);
      const bad = dns.find((d) => !DNS_NAME.test(d));
      if (bad !== undefined) return fail(`--dns ${JSON.stringify(bad)} is not a DNS name`);
      const ip = listOf(values.ip);
      const badIp = ip.find((a) => isIP(a) === 0);
      if (badIp !== undefined) return fail(`--ip ${JSON.stringify(badIp)} is not an IP address`);
      const validDays = days(values.days, 365);
      if (validDays === undefined) return fail('--days must be a whole number from 1 to 36500');
      const client = values.client === true;
      const server = values.server === true || !client;
      let ca: Awaited<ReturnType<typeof readPair>>;
      try {
        ca = await readPair(dir, CA_NAME);
      } catch {
        return fail(`no CA in ${dir}: run 'gatehouse certs init --dir ${dir}' first`, 1);
      }
      const pair = await issueCertificate(ca, { name, dns, ip, server, client, days: validDays });
      const paths = await writePair(dir, name, pair, force);
      console.log(
        `certificate ${paths.cert} (${[server && 'server', client && 'client'].filter(Boolean).join(' + ')})\nkey         ${paths.key}`,
      );
      return 0;
    } catch (err) {
      if (err instanceof CertFileExistsError) return fail(err.message, 1);
      throw err;
    }
  },
};
