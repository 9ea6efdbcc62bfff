import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueClientCertificate } from '../../src/tls/certificates.ts';
import { createHome, destroyHome, pgherd, pgherdOk, secretValue } from '../harness/home.ts';

const manifest = `
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: api
spec:
  instances: 1
  storage:
    size: 1Gi
`;

/** A plain HTTPS call to the instance manager, as anyone on the machine could make it. */
function httpsCall(
  port: number,
  method: string,
  path: string,
  ca: string,
  client?: { certPem: string; keyPem: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca,
        servername: 'localhost',
        agent: false,
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the instance manager API', () => {
  let home: string;
  let port: number;
  let ca: string;
  beforeAll(async () => {
    home = createHome();
    writeFileSync(join(home, 'api.yaml'), manifest);
    await pgherdOk(home, ['up', '-f', join(home, 'api.yaml')]);
    port = (
      JSON.parse((await pgherdOk(home, ['get', 'instance', 'api-1', '-o', 'json'])).stdout) as {
        spec: { statusPort: number };
      }
    ).spec.statusPort;
    ca = await secretValue(home, 'api-ca', 'ca.crt');
  });
  afterAll(async () => {
    await destroyHome(home);
  });

  it('serves status to anyone over TLS 1.3 with the cluster certificate', async () => {
    const r = await httpsCall(port, 'GET', '/pg/status', ca);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ instance: 'api-1', isPrimary: true, ready: true });
  });

  it('refuses a state-changing request without the control plane client certificate', async () => {
    const r = await httpsCall(port, 'POST', '/pg/reload', ca);
    expect(r.status).toBe(401);
    expect(r.body).toContain('requires the control plane client certificate');
  });

  it('refuses a state-changing request with any other client certificate', async () => {
    const now = new Date();
    const otherCa = await createCa({ commonName: 'intruder', now });
    const cert = await issueClientCertificate({ ca: otherCa, commonName: 'pgherd-operator', now });
    const r = await httpsCall(port, 'POST', '/pg/reload', ca, cert);
    expect(r.status).toBe(403);
    expect(r.body).toContain('not the control plane certificate');
  });

  it('accepts it from the control plane (pgherd reload), which pins its fingerprint in the cluster status', async () => {
    const status = JSON.parse((await pgherdOk(home, ['get', 'cluster', 'api', '-o', 'json'])).stdout) as {
      status: { operatorCertificateFingerprint?: string };
    };
    expect(status.status.operatorCertificateFingerprint).toMatch(/^[0-9a-f]{64}$/);
    const r = await pgherd(home, ['reload', 'api']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('cluster/api reloaded: api-1');
    const logs = await pgherdOk(home, ['logs', 'api', 'api-1']);
    expect(logs.stdout).toContain('configuration reloaded');
  });
});
