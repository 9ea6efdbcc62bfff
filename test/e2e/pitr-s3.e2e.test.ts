/**
 * Backup and point-in-time recovery over a real S3-protocol server (s3rver), for the targets
 * the folder tests do not cover: a transaction id (inclusive and exclusive) and "immediate"
 * (the end of the base backup); the backup is taken from the primary of a single-instance
 * cluster (prefer-standby falls back to it). And what a user sees when the store is
 * misconfigured: wrong credentials, a missing bucket, an endpoint that does not answer.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/backup/stores/s3-store.ts';
import { createHome, destroyHome, eventually, pgherd, pgherdOk } from '../harness/home.ts';
import { startS3, type TestS3 } from '../harness/s3.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function count(home: string, cluster: string): Promise<number> {
  const r = await pgherdOk(home, ['psql', cluster, '--', '-d', 'app', '-Atc', 'SELECT count(*) FROM t']);
  return Number(r.stdout.trim());
}

async function sql(home: string, cluster: string, query: string): Promise<string> {
  return (await pgherdOk(home, ['psql', cluster, '--', '-d', 'app', '-Atc', query])).stdout.trim();
}

describe('backup and PITR over S3', () => {
  let home: string;
  let scratch: string;
  let s3: TestS3;
  let backupId = '';
  const xids: { middle?: string } = {};
  const objectStore = (destination: string, extra = ''): string => `    barmanObjectStore:
      destinationPath: ${destination}
      endpointURL: ${s3.endpoint}
      s3Credentials:
        accessKeyId:
          name: s3
          key: ID
        secretAccessKey:
          name: s3
          key: KEY
${extra}`;
  beforeAll(async () => {
    home = createHome();
    scratch = mkdtempSync('/tmp/pgherd-pitr-s3-');
    s3 = await startS3(join(scratch, 's3'), ['pitr']);
    writeFileSync(
      join(home, 's3src.yaml'),
      `apiVersion: v1
kind: Secret
metadata:
  name: s3
stringData:
  ID: ${s3.credentials.accessKeyId}
  KEY: ${s3.credentials.secretAccessKey}
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: s3src
spec:
  instances: 1
  storage:
    size: 1Gi
  backup:
${objectStore('s3://pitr/db', '      wal:\n        compression: gzip\n        maxParallel: 4\n      data:\n        compression: lz4\n        immediateCheckpoint: true\n')}`,
    );
    await pgherdOk(home, ['up', '-f', join(home, 's3src.yaml')]);
  });
  afterAll(async () => {
    await destroyHome(home);
    await s3.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('backs up the primary of a single-instance cluster to S3 (lz4 data)', async () => {
    await sql(
      home,
      's3src',
      'CREATE TABLE t (id int primary key); INSERT INTO t SELECT generate_series(1, 1000)',
    );
    const r = await pgherdOk(home, ['backup', 's3src', '--backup-name', 'b1']);
    backupId = /backup ID (\d{8}T\d{6})/.exec(r.stdout)![1]!;
    const store = new S3ObjectStore({
      bucket: 'pitr',
      prefix: 'db',
      endpoint: s3.endpoint,
      credentials: s3.credentials,
    });
    const keys = (await store.list(`s3src/base/${backupId}/`)).map((o) => o.key);
    // The credentials cannot be deleted while a cluster uses them.
    const del = await pgherd(home, ['delete', 'secret', 's3']);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain('used by cluster s3src');
    expect(keys).toEqual(
      expect.arrayContaining([`s3src/base/${backupId}/backup.info`, `s3src/base/${backupId}/data.tar.lz4`]),
    );
    // One transaction to stop at, and one after it.
    xids.middle = await sql(
      home,
      's3src',
      'WITH ins AS (INSERT INTO t SELECT generate_series(1001, 2000) RETURNING 1) SELECT txid_current() FROM ins LIMIT 1',
    );
    await sql(home, 's3src', 'INSERT INTO t SELECT generate_series(2001, 3000)');
    const last = await sql(home, 's3src', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
    await pgherdOk(home, ['psql', 's3src', '--', '-Atc', 'SELECT pg_switch_wal()']);
    await eventually(
      `${last} archived`,
      async () =>
        (await store.list(`s3src/wals/${last.slice(0, 16)}/${last}`)).length > 0 ? true : undefined,
      30_000,
    );
  });

  it('recovers to a transaction id, inclusive and exclusive, and to the end of the backup (immediate)', async () => {
    const external = `  externalClusters:
    - name: origin
      barmanObjectStore:
        destinationPath: s3://pitr/db
        serverName: s3src
        endpointURL: ${s3.endpoint}
        s3Credentials:
          accessKeyId:
            name: s3
            key: ID
          secretAccessKey:
            name: s3
            key: KEY
`;
    const cluster = (name: string, target: string): string => `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: ${name}
spec:
  instances: 1
  storage:
    size: 1Gi
${external}  bootstrap:
    recovery:
      source: origin
      recoveryTarget:
        backupID: ${backupId}
${target}`;
    writeFileSync(
      join(home, 'targets.yaml'),
      [
        cluster('xid', `        targetXID: "${xids.middle}"\n`),
        cluster('xidexcl', `        targetXID: "${xids.middle}"\n        exclusive: true\n`),
        cluster('immediate', '        targetImmediate: true\n'),
      ].join('---\n'),
    );
    await pgherdOk(home, ['apply', '-f', join(home, 'targets.yaml')]);
    for (const name of ['xid', 'xidexcl', 'immediate'])
      await pgherdOk(home, ['wait', name, '--timeout', '180s']);
    expect(await count(home, 'xid')).toBe(2000);
    expect(await count(home, 'xidexcl')).toBe(1000);
    expect(await count(home, 'immediate')).toBe(1000);
  });

  it('says what is wrong when the store is misconfigured, and archives once it is fixed', async () => {
    const deadPort = await freePort();
    const variants: Array<{ what: string; store: string; expect: RegExp }> = [
      {
        what: 'wrong credentials',
        store: objectStore('s3://pitr/bad').replace(
          'name: s3\n          key: ID',
          'name: wrong\n          key: ID',
        ),
        expect: /access denied.*check s3Credentials/,
      },
      {
        what: 'a missing bucket',
        store: objectStore('s3://no-such-bucket/db'),
        expect: /bucket no-such-bucket does not exist/,
      },
      {
        what: 'an endpoint that does not answer',
        store: objectStore('s3://pitr/bad').replace(s3.endpoint, `http://127.0.0.1:${deadPort}`),
        expect: /cannot be reached.*check endpointURL/,
      },
    ];
    const manifest = (store: string): string => `apiVersion: v1
kind: Secret
metadata:
  name: wrong
stringData:
  ID: NOT-THE-KEY
  KEY: NOT-THE-SECRET
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: misconf
spec:
  instances: 1
  storage:
    size: 1Gi
  backup:
${store}`;
    for (const [n, v] of variants.entries()) {
      writeFileSync(join(home, 'misconf.yaml'), manifest(v.store));
      if (n === 0) await pgherdOk(home, ['up', '-f', join(home, 'misconf.yaml')]);
      else await pgherdOk(home, ['apply', '-f', join(home, 'misconf.yaml')]);
      const message = await eventually(
        `the status to explain ${v.what}`,
        async () => {
          await pgherd(home, ['psql', 'misconf', '--', '-Atc', 'SELECT pg_switch_wal()']);
          const st = await pgherd(home, ['status', 'misconf']);
          return v.expect.test(st.stdout) ? st.stdout : undefined;
        },
        60_000,
      );
      expect(message, v.what).toContain('Failing:');
    }
    // Fixed: the WAL PostgreSQL kept meanwhile is archived.
    writeFileSync(join(home, 'misconf.yaml'), manifest(objectStore('s3://pitr/fixed')));
    await pgherdOk(home, ['apply', '-f', join(home, 'misconf.yaml')]);
    await eventually(
      'archiving to work once the store is fixed',
      async () => {
        const st = await pgherd(home, ['status', 'misconf']);
        return /Working WAL archiving:\s+OK/.test(st.stdout) ? true : undefined;
      },
      60_000,
    );
    const store = new S3ObjectStore({
      bucket: 'pitr',
      prefix: 'fixed',
      endpoint: s3.endpoint,
      credentials: s3.credentials,
    });
    const wal = (await store.list('misconf/wals/')).map((o) => o.key);
    expect(wal.some((k) => k.includes('000000010000000000000001'))).toBe(true);
  });
});
