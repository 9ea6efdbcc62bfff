import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHome,
  destroyHome,
  eventually,
  pgherdOk,
  runProgram,
  secretValue,
  serverCertificate,
  servicePort,
} from '../harness/home.ts';

const manifest = `
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: rot
spec:
  instances: 2
  storage:
    size: 1Gi
`;

// Certificates valid 90 s and renewed 75 s before expiry: a renewal about every 15 s.
const SHORT = { PGHERD_CERTIFICATE_DURATION: '90s', PGHERD_CERTIFICATE_RENEW_BEFORE: '75s' };

describe('certificate renewal', () => {
  let home: string;
  beforeAll(async () => {
    home = createHome();
    writeFileSync(join(home, 'rot.yaml'), manifest);
    await pgherdOk(home, ['up', '-f', join(home, 'rot.yaml')], { env: SHORT });
  });
  afterAll(async () => {
    await destroyHome(home);
  });

  it('renews the server and replication certificates before they expire with zero failed transactions', async () => {
    const serial = async (secret: string): Promise<string> =>
      new X509Certificate(await secretValue(home, secret, 'tls.crt')).serialNumber;
    const firstServer = await serial('rot-server');
    const firstReplication = await serial('rot-replication');
    const ca = await secretValue(home, 'rot-ca', 'ca.crt');
    const port = await servicePort(home, 'rot-rw');
    const password = await secretValue(home, 'rot-app', 'password');
    const env = {
      PGPASSWORD: password,
      PGSSLMODE: 'require',
      PGHOST: '127.0.0.1',
      PGPORT: String(port),
      PGUSER: 'app',
      PGDATABASE: 'app',
    };
    const bin = '/usr/lib/postgresql/15/bin/pgbench';
    expect((await runProgram(bin, ['-i', '-s', '1', '-q'], env)).code).toBe(0);
    const bench = runProgram(bin, ['-c', '4', '-j', '2', '-T', '40', '-n'], env);

    // While pgbench runs, new verify-full connections keep working across renewals, and the
    // server presents the renewed certificate.
    const seenServerSerials = new Set<string>();
    const deadline = Date.now() + 38_000;
    while (Date.now() < deadline) {
      const c = new pg.Client({
        host: '127.0.0.1',
        port,
        user: 'app',
        password,
        database: 'app',
        ssl: { ca, servername: 'rot-rw' },
      });
      await c.connect();
      const peer = serverCertificate(c);
      seenServerSerials.add(peer.serialNumber);
      await c.query('select 1');
      await c.end();
      await new Promise((r) => setTimeout(r, 2000));
    }
    const result = await bench;
    expect(result.code, result.out).toBe(0);
    expect(/number of failed transactions: (\d+)/.exec(result.out)?.[1]).toBe('0');
    expect(Number(/number of transactions actually processed: (\d+)/.exec(result.out)?.[1])).toBeGreaterThan(
      100,
    );

    expect(await serial('rot-server')).not.toBe(firstServer);
    expect(await serial('rot-replication')).not.toBe(firstReplication);
    // PostgreSQL reloaded: clients saw at least two different server certificates.
    expect(seenServerSerials.size).toBeGreaterThanOrEqual(2);
    // Replication survives: the replica streams and new replication connections use the new certificate.
    await eventually('the replica to be streaming', async () => {
      const s = JSON.parse((await pgherdOk(home, ['status', 'rot', '-o', 'json'])).stdout) as {
        replication: Array<{ state: string }>;
      };
      return s.replication.some((r) => r.state === 'streaming') ? true : undefined;
    });
    const logs = await pgherdOk(home, ['logs', 'rot', 'rot-1']);
    expect(logs.stdout).toContain('certificates changed; the status API and PostgreSQL use the new ones');
  });

  it('adds serverAltDNSNames to the server certificate when the cluster asks for them', async () => {
    writeFileSync(
      join(home, 'rot.yaml'),
      `${manifest}  certificates:\n    serverAltDNSNames:\n      - db.example.com\n`,
    );
    await pgherdOk(home, ['apply', '-f', join(home, 'rot.yaml')], { env: SHORT });
    const san = await eventually('the server certificate to carry db.example.com', async () => {
      const names =
        new X509Certificate(await secretValue(home, 'rot-server', 'tls.crt')).subjectAltName ?? '';
      return names.includes('DNS:db.example.com') ? names : undefined;
    });
    expect(san).toContain('DNS:rot-rw.default.svc');
    const ca = await secretValue(home, 'rot-ca', 'ca.crt');
    const password = await secretValue(home, 'rot-app', 'password');
    const port = await servicePort(home, 'rot-rw');
    await eventually('PostgreSQL to present it', async () => {
      const c = new pg.Client({
        host: '127.0.0.1',
        port,
        user: 'app',
        password,
        database: 'app',
        ssl: { ca, servername: 'db.example.com' },
      });
      c.on('error', () => {});
      try {
        await c.connect();
        await c.end();
        return true;
      } catch {
        return undefined;
      }
    });
  });
});
