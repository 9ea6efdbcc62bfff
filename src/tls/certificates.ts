/**
 * The per-cluster PKI CloudNativePG creates (docs/src/certificates.md): a self-signed CA, a
 * server certificate for PostgreSQL, and client certificates (`streaming_replica`). ECDSA P-256
 * keys, exported as PKCS#8 PEM; 90-day validity, renewal 7 days before expiry (CNPG's defaults).
 * Time comes in as `now`; notBefore is backdated one minute so a peer whose clock is slightly
 * behind does not reject a fresh certificate. Serials are random positive 128-bit numbers.
 */

// @peculiar/x509 2.x throws at import time unless reflect-metadata is loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  /** X.509 certificate, PEM. */
  readonly certPem: string;
  /** PKCS#8 private key, PEM ("-----BEGIN PRIVATE KEY-----"). Store it owner-only (0600). */
  readonly keyPem: string;
}

/** CNPG's CERTIFICATE_DURATION default, in days. */
export const DEFAULT_VALIDITY_DAYS = 90;
/** CNPG's EXPIRING_CHECK_THRESHOLD default, in days. */
export const DEFAULT_RENEWAL_THRESHOLD_DAYS = 7;

const DAY_MS = 24 * 60 * 60 * 1000;
const BACKDATE_MS = 60 * 1000;
const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

// The only module-level mutable state: whether @peculiar/x509's global provider is set.
let providerReady = false;

/** Points @peculiar/x509 at Node's WebCrypto; runs once per process. */
function ensureCryptoProvider(): void {
  if (providerReady) return;
  x509.cryptoProvider.set(webcrypto);
  providerReady = true;
}

/** Node's WebCrypto, with the x509 provider set up. */
function crypto(): webcrypto.Crypto {
  ensureCryptoProvider();
  return webcrypto;
}

/** A random positive serial as hex: 16 bytes with the top bit cleared (DER INTEGERs are signed). */
function randomSerial(): string {
  const bytes = crypto().getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01; // positive, and never a leading zero byte
  return Buffer.from(bytes).toString('hex');
}

function validity(now: Date, validityDays: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(validityDays) || validityDays <= 0) {
    throw new Error(`certificate validity must be a positive number of days, got ${validityDays}`);
  }
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + validityDays * DAY_MS),
  };
}

function subjectName(commonName: string): x509.Name {
  if (commonName.length === 0 || commonName.length > 64) {
    throw new Error(`a certificate common name must be 1 to 64 characters, got ${commonName.length}`);
  }
  // The JSON form avoids building an RFC 4514 string, so `,` `+` `=` in the name need no escaping.
  return new x509.Name([{ CN: [commonName] }]);
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return crypto().subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto().subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Loads the CA certificate and its signing key. */
async function loadCa(ca: KeyPairPem): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  ensureCryptoProvider();
  const cert = new x509.X509Certificate(ca.certPem);
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (constraints?.ca !== true) throw new Error(`certificate ${cert.subject} is not a CA (basicConstraints)`);
  const der = x509.PemConverter.decodeFirst(ca.keyPem);
  const key = await crypto().subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
  return { cert, key };
}

/** Input of createCa. */
export interface CreateCaInput {
  readonly commonName: string;
  readonly now: Date;
  readonly validityDays?: number;
}

/** Creates a self-signed CA (basicConstraints CA:true, keyCertSign + cRLSign). */
export async function createCa(input: CreateCaInput): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: subjectName(input.commonName),
      ...validity(input.now, input.validityDays ?? DEFAULT_VALIDITY_DAYS),
      signingAlgorithm: SIGNING,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto()),
      ],
    },
    crypto(),
  );
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

interface LeafInput {
  readonly ca: KeyPairPem;
  readonly commonName: string;
  readonly now: Date;
  readonly validityDays?: number;
}

async function issueLeaf(
  input: LeafInput,
  usage: x509.ExtendedKeyUsage,
  altNames: x509.JsonGeneralName[],
): Promise<KeyPairPem> {
  const ca = await loadCa(input.ca);
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto()),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey, false, crypto()),
  ];
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames, false));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: subjectName(input.commonName),
      issuer: ca.cert.subjectName,
      ...validity(input.now, input.validityDays ?? DEFAULT_VALIDITY_DAYS),
      signingAlgorithm: SIGNING,
      publicKey: keys.publicKey,
      signingKey: ca.key,
      extensions,
    },
    crypto(),
  );
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** Input of issueServerCertificate. */
export interface ServerCertificateInput extends LeafInput {
  /** DNS subject alternative names (clients verify one of these with verify-full). */
  readonly dnsNames: readonly string[];
  /** IP subject alternative names. */
  readonly ipAddresses: readonly string[];
}

/** Issues a TLS server certificate signed by `ca` (EKU serverAuth, SANs from dnsNames/ipAddresses). */
export async function issueServerCertificate(input: ServerCertificateInput): Promise<KeyPairPem> {
  if (input.dnsNames.length + input.ipAddresses.length === 0) {
    throw new Error('a server certificate needs at least one DNS name or IP address');
  }
  const altNames: x509.JsonGeneralName[] = [
    ...input.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...input.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  return issueLeaf(input, x509.ExtendedKeyUsage.serverAuth, altNames);
}

/** Input of issueClientCertificate. */
export type ClientCertificateInput = LeafInput;

/**
 * Issues a TLS client certificate (EKU clientAuth) whose CN is the PostgreSQL role it logs in
 * as, e.g. `streaming_replica` (pg_hba `cert` compares the CN with the user, through a map).
 */
export async function issueClientCertificate(input: ClientCertificateInput): Promise<KeyPairPem> {
  return issueLeaf(input, x509.ExtendedKeyUsage.clientAuth, []);
}

/** The notAfter time of a PEM certificate. */
export function certificateExpiry(certPem: string): Date {
  ensureCryptoProvider();
  return new x509.X509Certificate(certPem).notAfter;
}

/** True when the certificate expires within `thresholdDays` of `now` (or already has). */
export function needsRenewal(
  certPem: string,
  now: Date,
  thresholdDays: number = DEFAULT_RENEWAL_THRESHOLD_DAYS,
): boolean {
  return certificateExpiry(certPem).getTime() - now.getTime() <= thresholdDays * DAY_MS;
}

/** Input of renewCa. */
export interface RenewCaInput {
  readonly ca: KeyPairPem;
  readonly now: Date;
  readonly validityDays?: number;
}

/**
 * A new self-signed certificate for an existing CA: same key pair and subject, new validity.
 * Every certificate the CA signed still verifies against it, so clients can move to the new CA
 * certificate at their own pace while the old one is valid.
 */
export async function renewCa(input: RenewCaInput): Promise<KeyPairPem> {
  const { cert, key } = await loadCa(input.ca);
  const publicKey = await cert.publicKey.export(EC_KEY, ['verify'], crypto());
  const renewed = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: cert.subjectName,
      ...validity(input.now, input.validityDays ?? DEFAULT_VALIDITY_DAYS),
      signingAlgorithm: SIGNING,
      keys: { publicKey, privateKey: key },
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto()),
      ],
    },
    crypto(),
  );
  return { certPem: renewed.toString('pem'), keyPem: input.ca.keyPem };
}
