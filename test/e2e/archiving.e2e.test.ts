/**
 * Continuous WAL archiving (issue #5): the current primary archives every segment to the
 * cluster's barmanObjectStore (a folder, and a real S3-protocol server); when the store goes
 * away PostgreSQL keeps the WAL and the ContinuousArchiving condition turns False with the
 * reason; when it returns the archive catches up with no segment missing; a new cluster
 * refuses to archive into a destination that already holds another cluster's WAL.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/backup/stores/s3-store.ts';
import { appClient, createHome, destroyHome, eventually, pgherdOk } from '../harness/home.ts';
import { startS3, type TestS3 } from '../harness/s3.ts';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

async function condition(home: string, cluster: string): Promise<Condition | undefined> {
  const r = await pgherdOk(home, ['get', 'cluster', cluster, '-o', 'json']);
  const c = JSON.parse(r.stdout) as { status?: { conditions?: Condition[] } };
  return c.status?.conditions?.find((x) => x.type === 'ContinuousArchiving');
}

/** Switches `n` WAL segments with a little data in each; returns the last one switched away from. */
async function switchSegments(home: string, cluster: string, n: number): Promise<string> {
  const app = await appClient(home, cluster, `${cluster}-rw`);
  try {
    await app.query('CREATE TABLE IF NOT EXISTS w (id serial, at timestamptz default now())');
    let last = '';
    for (let i = 0; i < n; i++) {
      await app.query('INSERT INTO w DEFAULT VALUES');
      const r = await app.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f');
      last = r.rows[0]!.f;
      await pgherdOk(home, ['psql', cluster, '--', '-Atc', 'SELECT pg_switch_wal()']);
    }
    return last;
  } finally {
    await app.end();
  }
}

/** Segment names archived under `<dir>/<server>/wals/`, suffixes removed. */
function archivedSegments(walsDir: string): string[] {
  if (!existsSync(walsDir)) return [];
  const names: string[] = [];
  for (const d of readdirSync(walsDir)) {
    if (d.endsWith('.history')) continue;
    for (const f of readdirSync(join(walsDir, d))) names.push(f.replace(/\.(gz|lz4)$/, ''));
  }
  return names.sort();
}

/** Segment names archived in the S3 bucket below `prefix`, suffixes removed. */
async function bucketSegments(s3: TestS3, bucket: string, prefix: string): Promise<string[]> {
  const store = new S3ObjectStore({ bucket, prefix: '', endpoint: s3.endpoint, credentials: s3.credentials });
  return (await store.list(prefix))
    .map((o) => o.key.slice(o.key.lastIndexOf('/') + 1).replace(/\.(gz|lz4)$/, ''))
    .filter((n) => !n.endsWith('.history'))
    .sort();
}

/** Every segment from the first archived one to `last` is there (no gap). */
function contiguousUpTo(names: string[], last: string): boolean {
  const segs = names.filter((n) => /^[0-9A-F]{24}$/.test(n) && n.slice(0, 8) === last.slice(0, 8));
  if (segs.length === 0 || segs[segs.length - 1]! < last) return false;
  const num = (n: string): number =>
    Number.parseInt(n.slice(8, 16), 16) * 256 + Number.parseInt(n.slice(16), 16);
  for (let i = 1; i < segs.length; i++) if (num(segs[i]!) !== num(segs[i - 1]!) + 1) return false;
  return true;
}

describe('continuous WAL archiving', () => {
  let home: string;
  let scratch: string;
  let s3: TestS3;
  let s3Port: number;
  beforeAll(async () => {
    home = createHome();
    scratch = mkdtempSync('/tmp/pgherd-archiving-');
    mkdirSync(join(scratch, 'store'));
    s3 = await startS3(join(scratch, 's3'), ['walbucket']);
    s3Port = Number(new URL(s3.endpoint).port);
  });
  afterAll(async () => {
    await destroyHome(home);
    await s3.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('archives every segment of the primary to a folder, and stops and catches up when the folder goes and comes back', async () => {
    const dest = join(scratch, 'store');
    writeFileSync(
      join(home, 'arch.yaml'),
      `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: arch
spec:
  instances: 2
  storage:
    size: 1Gi
  backup:
    barmanObjectStore:
      destinationPath: file://${dest}
      wal:
        compression: gzip
        maxParallel: 4
`,
    );
    await pgherdOk(home, ['up', '-f', join(home, 'arch.yaml')]);
    const last = await switchSegments(home, 'arch', 4);
    const wals = join(dest, 'arch', 'wals');
    await eventually(
      `segments up to ${last} in ${wals}`,
      async () => (contiguousUpTo(archivedSegments(wals), last) ? true : undefined),
      30_000,
    );
    expect((await condition(home, 'arch'))?.status).toBe('True');

    // The store goes away: PostgreSQL keeps its WAL, the condition says why.
    renameSync(dest, `${dest}.away`);
    const lastDuringOutage = await switchSegments(home, 'arch', 3);
    const failing = await eventually(
      'ContinuousArchiving to turn False',
      async () => {
        const c = await condition(home, 'arch');
        return c?.status === 'False' ? c : undefined;
      },
      30_000,
    );
    expect(failing.reason).toBe('ContinuousArchivingFailing');
    expect(failing.message).toContain('does not exist');
    const status = join(home, 'clusters/default/arch/arch-1/pgdata/pg_wal/archive_status');
    expect(readdirSync(status).some((f) => f.endsWith('.ready'))).toBe(true);

    // It comes back: everything written meanwhile is archived, with no gap.
    renameSync(`${dest}.away`, dest);
    await eventually(
      `segments up to ${lastDuringOutage} after the store came back`,
      async () => (contiguousUpTo(archivedSegments(wals), lastDuringOutage) ? true : undefined),
      60_000,
    );
    await eventually(
      'ContinuousArchiving to turn True again',
      async () => ((await condition(home, 'arch'))?.status === 'True' ? true : undefined),
      30_000,
    );
  });

  it('archives to an S3 endpoint with credentials from a Secret, and survives the endpoint going away under writes', async () => {
    writeFileSync(
      join(home, 's3.yaml'),
      `apiVersion: v1
kind: Secret
metadata:
  name: s3-creds
stringData:
  ACCESS_KEY_ID: ${s3.credentials.accessKeyId}
  ACCESS_SECRET_KEY: ${s3.credentials.secretAccessKey}
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: s3arch
spec:
  instances: 1
  storage:
    size: 1Gi
  backup:
    barmanObjectStore:
      destinationPath: s3://walbucket/clusters
      endpointURL: ${s3.endpoint}
      s3Credentials:
        accessKeyId:
          name: s3-creds
          key: ACCESS_KEY_ID
        secretAccessKey:
          name: s3-creds
          key: ACCESS_SECRET_KEY
      wal:
        compression: gzip
        maxParallel: 2
`,
    );
    await pgherdOk(home, ['up', '-f', join(home, 's3.yaml')]);
    const inBucket = (): Promise<string[]> => bucketSegments(s3, 'walbucket', 'clusters/s3arch/wals/');
    const last = await switchSegments(home, 's3arch', 3);
    await eventually(
      `segments up to ${last} in the bucket`,
      async () => (contiguousUpTo(await inBucket(), last) ? true : undefined),
      30_000,
    );

    await s3.close();
    const lastDuringOutage = await switchSegments(home, 's3arch', 3);
    const failing = await eventually(
      'ContinuousArchiving to turn False while the endpoint is down',
      async () => {
        const c = await condition(home, 's3arch');
        return c?.status === 'False' ? c : undefined;
      },
      30_000,
    );
    expect(failing.message).toMatch(/unreachable|connect|ECONNREFUSED/i);
    s3 = await startS3(join(scratch, 's3'), [], s3Port);
    await eventually(
      `segments up to ${lastDuringOutage} after the endpoint came back`,
      async () => (contiguousUpTo(await inBucket(), lastDuringOutage) ? true : undefined),
      60_000,
    );
    await eventually(
      'ContinuousArchiving to turn True again',
      async () => ((await condition(home, 's3arch'))?.status === 'True' ? true : undefined),
      30_000,
    );
  });

  it('refuses to archive a new cluster into a destination that holds another cluster’s WAL', async () => {
    const dest = join(scratch, 'store');
    writeFileSync(
      join(home, 'intruder.yaml'),
      `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: intruder
spec:
  instances: 1
  storage:
    size: 1Gi
  backup:
    barmanObjectStore:
      destinationPath: file://${dest}
      serverName: arch
`,
    );
    const before = archivedSegments(join(dest, 'arch', 'wals'));
    await pgherdOk(home, ['up', '-f', join(home, 'intruder.yaml')]);
    await pgherdOk(home, ['psql', 'intruder', '--', '-Atc', 'SELECT pg_switch_wal()']);
    const refused = await eventually(
      'the empty-archive check to refuse',
      async () => {
        const c = await condition(home, 'intruder');
        return c?.status === 'False' ? c : undefined;
      },
      30_000,
    );
    expect(refused.message).toContain('PGHERD_BACKUP_WAL_ARCHIVE_NOT_EMPTY');
    // Nothing of the intruder's was written among arch's WAL (arch itself writes nothing new
    // here: its archive_timeout is 5 minutes).
    expect(archivedSegments(join(dest, 'arch', 'wals'))).toEqual(before);
  });
});
