import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueServerCertificate } from '../../src/tls/certificates.ts';
import {
  clusterStatus,
  createHome,
  destroyHome,
  eventually,
  pgherd,
  pgherdOk,
  secretValue,
  serverCertificate,
  servicePort,
} from '../harness/home.ts';

const indent = (pem: string): string =>
  pem
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

function tlsSecret(name: string, data: Record<string, string>): string {
  return [
    '---',
    'apiVersion: v1',
    'kind: Secret',
    `metadata:\n  name: ${name}`,
    'stringData:',
    ...Object.entries(data).map(([k, v]) => `  ${k}: |\n${indent(v)}`),
  ].join('\n');
}

describe('certificates the user brings (spec.certificates)', () => {
  let home: string;
  let serverCa: { certPem: string; keyPem: string };
  let clientCa: { certPem: string; keyPem: string };
  let server: { certPem: string; keyPem: string };

  beforeAll(async () => {
    home = createHome();
    const now = new Date();
    serverCa = await createCa({ commonName: 'acme server ca', now });
    clientCa = await createCa({ commonName: 'acme client ca', now });
    // A certificate that names only the service, not 127.0.0.1 or localhost: replicas and the
    // control plane verify the chain (verify-ca), clients verify the name.
    server = await issueServerCertificate({
      ca: serverCa,
      commonName: 'byo-rw',
      dnsNames: ['byo-rw', 'db.acme.test'],
      ipAddresses: [],
      now,
    });
    const manifest = [
      'apiVersion: postgresql.cnpg.io/v1',
      'kind: Cluster',
      'metadata:\n  name: byo',
      'spec:',
      '  instances: 2',
      '  storage:\n    size: 1Gi',
      '  certificates:',
      '    serverCASecret: acme-server-ca',
      '    serverTLSSecret: acme-server',
      '    clientCASecret: acme-client-ca',
      tlsSecret('acme-server-ca', { 'ca.crt': serverCa.certPem }),
      tlsSecret('acme-server', { 'tls.crt': server.certPem, 'tls.key': server.keyPem }),
      tlsSecret('acme-client-ca', { 'ca.crt': clientCa.certPem, 'ca.key': clientCa.keyPem }),
    ].join('\n');
    writeFileSync(join(home, 'byo.yaml'), `${manifest}\n`);
    await pgherdOk(home, ['up', '-f', join(home, 'byo.yaml')]);
  });
  afterAll(async () => {
    await destroyHome(home);
  });

  it('serves the user server certificate, verified with the user CA, and replicates with a certificate from the user client CA', async () => {
    const port = await servicePort(home, 'byo-rw');
    const password = await secretValue(home, 'byo-app', 'password');
    const c = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'app',
      password,
      database: 'app',
      ssl: { ca: serverCa.certPem, servername: 'db.acme.test' },
    });
    await c.connect();
    const peer = serverCertificate(c);
    expect(peer.serialNumber).toBe(new X509Certificate(server.certPem).serialNumber);
    await c.end();

    const replication = new X509Certificate(await secretValue(home, 'byo-replication', 'tls.crt'));
    expect(replication.issuer).toBe(new X509Certificate(clientCa.certPem).subject);
    const s = await eventually('the replica to stream with the user certificates', async () => {
      const v = await clusterStatus<{
        replication: Array<{ applicationName: string; state: string }>;
        instances: Array<{ ready: boolean }>;
      }>(home, 'byo');
      return v.replication.some((r) => r.applicationName === 'byo-2' && r.state === 'streaming')
        ? v
        : undefined;
    });
    expect(s.instances.every((i) => i.ready)).toBe(true);
    // pgherd made no server certificate of its own.
    const own = await pgherd(home, ['get', 'secret', 'byo-server']);
    expect(own.code).toBe(1);
  });

  it('refuses to delete a certificate secret a cluster uses', async () => {
    const r = await pgherd(home, ['delete', 'secret', 'acme-server']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is used by cluster byo');
  });

  it('refuses a server certificate without its CA secret, naming the field', async () => {
    writeFileSync(
      join(home, 'bad.yaml'),
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: bad\nspec:\n  storage:\n    size: 1Gi\n  certificates:\n    serverTLSSecret: acme-server\n',
    );
    const r = await pgherd(home, ['apply', '-f', join(home, 'bad.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /spec\.certificates\.serverTLSSecret\s+certificates\.serverTLSSecret needs certificates\.serverCASecret/,
    );
  });
});
