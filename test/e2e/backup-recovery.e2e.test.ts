/**
 * Base backups and recovery (issue #5), verified by the data: `pgherd backup` takes a base
 * backup (from a standby, CNPG's default target); new clusters recover from it to each kind of
 * target — a time, an LSN, a named restore point, the end of the archive — and hold exactly
 * the rows written before the target. The fully recovered cluster gets its standby and archives
 * to its own destination. Bad recovery inputs fail with errors that say what to fix.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appClient, createHome, destroyHome, eventually, pgherd, pgherdOk } from '../harness/home.ts';

interface Row {
  n: string;
}

async function count(home: string, cluster: string): Promise<number> {
  const r = await pgherdOk(home, ['psql', cluster, '--', '-d', 'app', '-Atc', 'SELECT count(*) FROM t']);
  return Number(r.stdout.trim());
}

/** `pgherd get cluster` status fields. */
async function clusterStatusOf(home: string, name: string): Promise<Record<string, unknown>> {
  const r = await pgherdOk(home, ['get', 'cluster', name, '-o', 'json']);
  return (JSON.parse(r.stdout) as { status?: Record<string, unknown> }).status ?? {};
}

function recoveryCluster(name: string, recovery: string, extra = ''): string {
  return `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: ${name}
spec:
  instances: 1
  storage:
    size: 1Gi
${extra}  bootstrap:
    recovery:
${recovery}`;
}

describe('base backups and point-in-time recovery', () => {
  let home: string;
  let scratch: string;
  let store: string;
  const marks: { time?: string; lsn?: string } = {};
  beforeAll(async () => {
    home = createHome();
    scratch = mkdtempSync('/tmp/pgherd-pitr-');
    store = join(scratch, 'store');
    mkdirSync(store);
    mkdirSync(join(scratch, 'store2'));
    writeFileSync(
      join(home, 'src.yaml'),
      `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: src
spec:
  instances: 2
  storage:
    size: 1Gi
  backup:
    barmanObjectStore:
      destinationPath: file://${store}
      wal:
        compression: lz4
        maxParallel: 4
      data:
        compression: gzip
        immediateCheckpoint: true
`,
    );
    await pgherdOk(home, ['up', '-f', join(home, 'src.yaml')]);
  });
  afterAll(async () => {
    await destroyHome(home);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('takes a base backup from a standby with `pgherd backup`, and records it', async () => {
    const app = await appClient(home, 'src', 'src-rw');
    await app.query('CREATE TABLE t (id int primary key, at timestamptz default clock_timestamp())');
    await app.query('INSERT INTO t (id) SELECT g FROM generate_series(1, 1000) g');
    await app.end();
    const r = await pgherdOk(home, ['backup', 'src', '--backup-name', 'first']);
    expect(r.stdout).toMatch(/backup\/first completed in .* backup ID \d{8}T\d{6}/);
    const b = JSON.parse((await pgherdOk(home, ['get', 'backup', 'first', '-o', 'json'])).stdout) as {
      status: Record<string, unknown>;
    };
    expect(b.status['phase']).toBe('completed');
    expect((b.status['instanceID'] as { podName: string }).podName).toBe('src-2');
    for (const f of ['backupId', 'beginWal', 'endWal', 'beginLSN', 'endLSN', 'startedAt', 'stoppedAt'])
      expect(b.status[f], f).toBeTruthy();
    const backups = readdirSync(join(store, 'src', 'base'));
    expect(backups).toContain(b.status['backupId']);
    expect(readdirSync(join(store, 'src', 'base', String(b.status['backupId'])))).toEqual(
      expect.arrayContaining(['backup.info', 'data.tar.gz']),
    );
    const st = await clusterStatusOf(home, 'src');
    expect(st['lastSuccessfulBackup']).toBeTruthy();
    expect(st['firstRecoverabilityPoint']).toBeTruthy();
  });

  it('marks the recovery targets: rows after them must not come back', async () => {
    const app = await appClient(home, 'src', 'src-rw');
    await app.query('INSERT INTO t (id) SELECT g FROM generate_series(1001, 2000) g');
    // A restore point needs a superuser.
    const m = (
      await pgherdOk(home, [
        'psql',
        'src',
        '--',
        '-AtF',
        ' ',
        '-c',
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), pg_current_wal_lsn(), pg_create_restore_point('before-c')",
      ])
    ).stdout
      .trim()
      .split(' ');
    marks.time = m[0]!;
    marks.lsn = m[1]!;
    await new Promise((r) => setTimeout(r, 1100));
    await app.query('INSERT INTO t (id) SELECT g FROM generate_series(2001, 3000) g');
    const end = await app.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f');
    await app.end();
    await pgherdOk(home, ['psql', 'src', '--', '-Atc', 'SELECT pg_switch_wal()']);
    const last = end.rows[0]!.f;
    await eventually(
      `${last} archived`,
      async () => {
        const dir = join(store, 'src', 'wals', last.slice(0, 16));
        return readdirSync(dir).some((f) => f.startsWith(last)) ? true : undefined;
      },
      30_000,
    );
  });

  it('recovers to a time (from the Backup object): the rows before it, none after', async () => {
    writeFileSync(
      join(home, 'by-time.yaml'),
      recoveryCluster(
        'bytime',
        `      backup:\n        name: first\n      recoveryTarget:\n        targetTime: "${marks.time}"\n`,
      ),
    );
    await pgherdOk(home, ['apply', '-f', join(home, 'by-time.yaml')]);
    await pgherdOk(home, ['wait', 'bytime', '--timeout', '120s']);
    expect(await count(home, 'bytime')).toBe(2000);
  });

  it('recovers to an LSN and to a named restore point from an external cluster’s store', async () => {
    const external = `  externalClusters:\n    - name: origin\n      barmanObjectStore:\n        destinationPath: file://${store}\n        serverName: src\n`;
    writeFileSync(
      join(home, 'by-lsn.yaml'),
      `${recoveryCluster('bylsn', `      source: origin\n      recoveryTarget:\n        targetLSN: "${marks.lsn}"\n`, external)}---\n${recoveryCluster(
        'byname',
        `      source: origin\n      recoveryTarget:\n        targetName: before-c\n        backupID: ${(JSON.parse((await pgherdOk(home, ['get', 'backup', 'first', '-o', 'json'])).stdout) as { status: { backupId: string } }).status.backupId}\n`,
        external,
      )}`,
    );
    await pgherdOk(home, ['apply', '-f', join(home, 'by-lsn.yaml')]);
    await pgherdOk(home, ['wait', 'bylsn', '--timeout', '120s']);
    await pgherdOk(home, ['wait', 'byname', '--timeout', '120s']);
    expect(await count(home, 'bylsn')).toBe(2000);
    expect(await count(home, 'byname')).toBe(2000);
  });

  it('recovers to the end of the archive, gets its standby, and archives to its own destination', async () => {
    writeFileSync(
      join(home, 'full.yaml'),
      `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: full
spec:
  instances: 2
  storage:
    size: 1Gi
  backup:
    barmanObjectStore:
      destinationPath: file://${join(scratch, 'store2')}
  bootstrap:
    recovery:
      backup:
        name: first
`,
    );
    await pgherdOk(home, ['apply', '-f', join(home, 'full.yaml')]);
    await pgherdOk(home, ['wait', 'full', '--timeout', '180s']);
    expect(await count(home, 'full')).toBe(3000);
    const st = await clusterStatusOf(home, 'full');
    expect(st['readyInstances']).toBe(2);
    // The application user of the new cluster works with its own secret.
    const app = await appClient(home, 'full', 'full-rw');
    const rows = await app.query<Row>('SELECT count(*)::text AS n FROM t');
    expect(rows.rows[0]!.n).toBe('3000');
    await app.query('INSERT INTO t (id) VALUES (3001)');
    await app.end();
    await pgherdOk(home, ['psql', 'full', '--', '-Atc', 'SELECT pg_switch_wal()']);
    await eventually(
      'the recovered cluster archiving to its own destination',
      async () => {
        try {
          return readdirSync(join(scratch, 'store2', 'full', 'wals')).length > 0 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      30_000,
    );
  });

  it('says what is wrong with a recovery it cannot do', async () => {
    writeFileSync(
      join(home, 'bad.yaml'),
      `${recoveryCluster('nobackup', '      backup:\n        name: does-not-exist\n')}---\n${recoveryCluster(
        'tooearly',
        '      backup:\n        name: first\n      recoveryTarget:\n        targetTime: "2020-01-01 00:00:00+00"\n',
      )}`,
    );
    await pgherdOk(home, ['apply', '-f', join(home, 'bad.yaml')]);
    const reasonOf = async (name: string, code: string): Promise<string> =>
      eventually(
        `${name} to report ${code}`,
        async () => {
          const r = await pgherd(home, ['status', name]);
          return r.stdout.includes(code) ? r.stdout : undefined;
        },
        60_000,
      );
    expect(await reasonOf('nobackup', 'PGHERD_RECOVERY_NO_BACKUP')).toContain('does-not-exist');
    expect(await reasonOf('tooearly', 'PGHERD_RECOVERY_TARGET_TOO_EARLY')).toContain(
      'first recoverability point',
    );
  });
});
