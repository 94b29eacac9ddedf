// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * A development certificate authority and the service certificates it signs, for mTLS between
 * services on a laptop or in a test cluster. Keys are ECDSA P-256; certificates are X.509 v3 made by
 * @peculiar/x509 on node:crypto's WebCrypto (no openssl process, no hand-written ASN.1).
 */

const KEY_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const subtle = webcrypto.subtle;
const provider = webcrypto as unknown as Crypto;

export interface PemPair {
  /** Certificate, PEM. */
  cert: string;
  /** PKCS#8 private key, PEM. */
  key: string;
}

export interface CaOptions {
  /** Common name of the CA. Default "Gatehouse development CA". */
  commonName?: string;
  /** Default 3650 (ten years: a development CA outlives the services it signs). */
  days?: number;
}

export interface IssueOptions {
  /** The service's name: the certificate's common name, and a DNS name unless `dns` is given. */
  name: string;
  dns?: string[];
  ip?: string[];
  /** TLS server usage (serverAuth). */
  server: boolean;
  /** TLS client usage (clientAuth), for mTLS callers. */
  client: boolean;
  /** Default 365. */
  days?: number;
}

/** A positive serial of 16 random bytes (RFC 5280 §4.1.2.2: at most 20 octets, positive). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  // A minute in the past, so a peer whose clock is slightly behind accepts a fresh certificate.
  const notBefore = new Date(Date.now() - 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) };
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** Quote characters RFC 4514 reserves, so a name cannot add attributes to the subject. */
function rdnValue(value: string): string {
  return value.replace(/[\\,+"<>;=#]/g, (c) => `\\${c}`);
}

export async function createDevCa(options: CaOptions = {}): Promise<PemPair> {
  const keys = await generateKeys();
  const name = `CN=${rdnValue(options.commonName ?? 'Gatehouse development CA')}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name,
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      ...validity(options.days ?? 3650),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, provider),
      ],
    },
    provider,
  );
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

/** Sign a service certificate with the CA in `ca`. */
export async function issueCertificate(ca: PemPair, options: IssueOptions): Promise<PemPair> {
  if (!options.server && !options.client) throw new TypeError('a certificate needs server or client usage');
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.key), KEY_ALGORITHM, false, [
    'sign',
  ]);
  const keys = await generateKeys();
  const dns = options.dns && options.dns.length > 0 ? options.dns : [options.name];
  const names: x509.JsonGeneralName[] = [
    ...dns.map((value) => ({ type: 'dns' as const, value })),
    ...(options.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const usages: string[] = [];
  if (options.server) usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (options.client) usages.push(x509.ExtendedKeyUsage.clientAuth);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: `CN=${rdnValue(options.name)}`,
      issuer: caCert.subject,
      publicKey: keys.publicKey,
      signingKey: caKey as CryptoKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      ...validity(options.days ?? 365),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(usages, false),
        new x509.SubjectAlternativeNameExtension(names, false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, provider),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, provider),
      ],
    },
    provider,
  );
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}
