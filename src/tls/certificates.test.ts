import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  certificateExpiry,
  createCa,
  issueClientCertificate,
  issueServerCertificate,
  type KeyPairPem,
  needsRenewal,
  renewCa,
} from './certificates.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;

describe('certificates', () => {
  let ca: KeyPairPem;

  it('creates a self-signed ECDSA P-256 CA valid for 90 days, backdated one minute', async () => {
    ca = await createCa({ commonName: 'cluster-example-ca', now: NOW });
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=cluster-example-ca');
    expect(cert.issuer).toBe('CN=cluster-example-ca');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(new Date(cert.validFrom).getTime()).toBe(NOW.getTime() - 60_000);
    expect(new Date(cert.validTo).getTime()).toBe(NOW.getTime() + 90 * DAY);
    expect(cert.toLegacyObject().ext_key_usage).toBeUndefined();
    const key = createPrivateKey(ca.keyPem);
    expect(ca.keyPem.startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
    expect(key.asymmetricKeyType).toBe('ec');
  });

  it('issues a server certificate for its DNS names and IPs, signed by the CA, for server auth', async () => {
    const server = await issueServerCertificate({
      ca,
      commonName: 'cluster-example-rw',
      dnsNames: ['localhost', 'cluster-example-rw.default.svc'],
      ipAddresses: ['127.0.0.1', '::1'],
      now: NOW,
      validityDays: 30,
    });
    const cert = new X509Certificate(server.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkHost('cluster-example-rw.default.svc')).toBe('cluster-example-rw.default.svc');
    expect(cert.checkHost('other.example')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new Date(cert.validTo).getTime()).toBe(NOW.getTime() + 30 * DAY);
    expect(cert.checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);
  });

  it('issues a client certificate whose CN is the role, for client auth', async () => {
    const client = await issueClientCertificate({ ca, commonName: 'streaming_replica', now: NOW });
    const cert = new X509Certificate(client.certPem);
    expect(cert.subject).toBe('CN=streaming_replica');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.subjectAltName).toBeUndefined();
  });

  it('uses distinct positive serial numbers', async () => {
    const serials = await Promise.all(
      [1, 2, 3].map(
        async () =>
          new X509Certificate((await issueClientCertificate({ ca, commonName: 'a', now: NOW })).certPem)
            .serialNumber,
      ),
    );
    expect(new Set(serials).size).toBe(3);
    for (const serial of serials) expect(Number.parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
  });

  it('refuses to issue from a certificate that is not a CA, and bad inputs', async () => {
    const leaf = await issueClientCertificate({ ca, commonName: 'app', now: NOW });
    await expect(issueClientCertificate({ ca: leaf, commonName: 'x', now: NOW })).rejects.toThrow(/not a CA/);
    await expect(
      issueServerCertificate({ ca, commonName: 'x', dnsNames: [], ipAddresses: [], now: NOW }),
    ).rejects.toThrow(/at least one/);
    await expect(createCa({ commonName: '', now: NOW })).rejects.toThrow(/common name/);
    await expect(createCa({ commonName: 'x', now: NOW, validityDays: 0 })).rejects.toThrow(/positive/);
  });

  it('reports expiry and asks for renewal 7 days before it', () => {
    const expiry = certificateExpiry(ca.certPem);
    expect(expiry.toISOString()).toBe(new Date(NOW.getTime() + 90 * DAY).toISOString());
    expect(needsRenewal(ca.certPem, new Date(expiry.getTime() - 8 * DAY))).toBe(false);
    expect(needsRenewal(ca.certPem, new Date(expiry.getTime() - 7 * DAY))).toBe(true);
    expect(needsRenewal(ca.certPem, new Date(expiry.getTime() + DAY))).toBe(true);
    expect(needsRenewal(ca.certPem, new Date(expiry.getTime() - 20 * DAY), 30)).toBe(true);
  });
});

describe('renewCa', () => {
  it('keeps the key and subject, extends the validity, and still verifies what the old CA signed', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const ca = await createCa({ commonName: 'renew-me', now, validityDays: 1 });
    const leaf = await issueServerCertificate({ ca, commonName: 'x', dnsNames: ['x'], ipAddresses: [], now });
    const later = new Date('2026-06-01T00:00:00Z');
    const renewed = await renewCa({ ca, now: later, validityDays: 90 });
    expect(renewed.keyPem).toBe(ca.keyPem);
    const oldCert = new X509Certificate(ca.certPem);
    const newCert = new X509Certificate(renewed.certPem);
    expect(newCert.subject).toBe(oldCert.subject);
    expect(newCert.serialNumber).not.toBe(oldCert.serialNumber);
    expect(new Date(newCert.validTo).getTime()).toBeGreaterThan(new Date(oldCert.validTo).getTime());
    expect(new X509Certificate(leaf.certPem).verify(newCert.publicKey)).toBe(true);
    expect(newCert.verify(newCert.publicKey)).toBe(true);
  });
});
