/**
 * Base backups and recovery (issue #5), verified by the data: `pgherd backup` takes a base
 * backup (from a standby, CNPG's default target); new clusters recover from it to each kind of
 * target — a time, an LSN, a named restore point, the end of the archive, a timeline before
 * or after a switchover — and hold exactly the rows written before the target. The fully recovered cluster gets its standby and archives
 * to its own destination. Bad recovery inputs fail with errors that say what to fix.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appClient,
  clusterStatus,
  createHome,
  destroyHome,
  eventually,
  pgherd,
  pgherdOk,
  type StatusView,
} from '../harness/home.ts';

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
  /** Ends src's current WAL segment and waits until that segment is in the archive. */
  const switchWalAndWaitArchived = async (): Promise<void> => {
    const seg = (
      await pgherdOk(home, ['psql', 'src', '--', '-Atc', 'SELECT pg_walfile_name(pg_current_wal_lsn())'])
    ).stdout.trim();
    await pgherdOk(home, ['psql', 'src', '--', '-Atc', 'SELECT pg_switch_wal()']);
    await eventually(
      `${seg} archived`,
      async () =>
        readdirSync(join(store, 'src', 'wals', seg.slice(0, 16))).some((f) => f.startsWith(seg))
          ? true
          : undefined,
      30_000,
    );
  };
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
    await app.end();
    await switchWalAndWaitArchived();
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
    // The promoted server went on as the primary without a restart: the target was given on
    // the recovery run's command line, so the configuration file has no trace of it and
    // nothing waits for a restart (a rolling restart would otherwise follow).
    const conf = readFileSync(join(home, 'clusters/default/bytime/bytime-1/pgdata/postgresql.conf'), 'utf8');
    expect(conf).not.toContain('recovery_target');
    expect(conf).not.toContain('restore_command');
    const pending = await pgherdOk(home, [
      'psql',
      'bytime',
      '--',
      '-Atc',
      'SELECT count(*) FILTER (WHERE pending_restart), bool_or(pg_is_in_recovery()) FROM pg_settings',
    ]);
    expect(pending.stdout.trim()).toBe('0|f');
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
      )}---\n${recoveryCluster(
        'toolate',
        '      backup:\n        name: first\n      recoveryTarget:\n        targetTime: "2099-01-01 00:00:00+00"\n',
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
    expect(await reasonOf('toolate', 'PGHERD_RECOVERY_TARGET_NOT_REACHED')).toContain(
      'ends before the recovery target',
    );
    expect(await reasonOf('tooearly', 'PGHERD_RECOVERY_TARGET_TOO_EARLY')).toContain(
      'first recoverability point',
    );
  });

  it('fails a backup whose standby is killed while taking it, leaves nothing of it, and backs up again', async () => {
    // Enough data that the backup takes a few seconds.
    await pgherdOk(home, [
      'psql',
      'src',
      '--',
      '-d',
      'app',
      '-c',
      'CREATE TABLE big AS SELECT g, repeat(md5(g::text), 8) AS filler FROM generate_series(1, 600000) g',
    ]);
    await pgherdOk(home, ['wait', 'src']);
    await pgherdOk(home, ['backup', 'src', '--backup-name', 'killed', '--no-wait']);
    const running = await eventually(
      'the backup to be running',
      async () => {
        const b = JSON.parse((await pgherdOk(home, ['get', 'backup', 'killed', '-o', 'json'])).stdout) as {
          status?: { phase?: string; backupId?: string; instanceID?: { podName: string } };
        };
        return b.status?.phase === 'running' ? b.status : undefined;
      },
      30_000,
    );
    expect(running.instanceID?.podName).toBe('src-2');
    const view = await clusterStatus<StatusView>(home, 'src');
    const victim = view.instances.find((i) => i.name === 'src-2')!;
    process.kill(victim.managerPid!, 'SIGKILL');
    process.kill(victim.postmasterPid!, 'SIGKILL');
    const failed = await eventually(
      'the backup to fail',
      async () => {
        const b = JSON.parse((await pgherdOk(home, ['get', 'backup', 'killed', '-o', 'json'])).stdout) as {
          status?: { phase?: string; error?: string };
        };
        return b.status?.phase === 'failed' ? b.status : undefined;
      },
      60_000,
    );
    expect(failed.error).toContain('src-2');
    expect(failed.error).toContain('take the backup again');
    // Nothing of it is left: no object, and no unfinished upload either.
    const dir = join(store, 'src', 'base', running.backupId!);
    await eventually(
      'the partial backup to be removed',
      async () => (existsSync(dir) && readdirSync(dir).length > 0 ? undefined : true),
      30_000,
    );
    await pgherdOk(home, ['wait', 'src', '--timeout', '120s']);
    await pgherdOk(home, ['psql', 'src', '--', '-d', 'app', '-c', 'DROP TABLE big']);
    const again = await pgherdOk(home, ['backup', 'src', '--backup-name', 'after-kill']);
    expect(again.stdout).toContain('completed');
  });

  it('recovers along a timeline: the latest one after a switchover, or the old one with targetTLI', async () => {
    const ids = async (cluster: string): Promise<string> =>
      (
        await pgherdOk(home, [
          'psql',
          cluster,
          '--',
          '-d',
          'app',
          '-Atc',
          "SELECT string_agg(id::text, ',' ORDER BY id) FROM t WHERE id > 4000",
        ])
      ).stdout.trim();
    await pgherdOk(home, ['wait', 'src', '--timeout', '120s']);
    await pgherdOk(home, ['backup', 'src', '--backup-name', 'before-switch']);
    const before = await clusterStatus<StatusView>(home, 'src');
    const oldPrimary = before.cluster.status.currentPrimary!;
    const oldTli = before.instances.find((i) => i.name === oldPrimary)!.timelineId!;
    // Row 4001 on the old timeline, in a segment that is complete and archived.
    await pgherdOk(home, ['psql', 'src', '--', '-d', 'app', '-c', 'INSERT INTO t (id) VALUES (4001)']);
    await switchWalAndWaitArchived();
    // A switchover: the other instance goes on, on the next timeline, with row 4002.
    const other = before.instances.find((i) => i.name !== oldPrimary)!.name;
    await pgherdOk(home, ['promote', 'src', other, '--timeout', '120s']);
    await pgherdOk(home, ['psql', 'src', '--', '-d', 'app', '-c', 'INSERT INTO t (id) VALUES (4002)']);
    const after = await clusterStatus<StatusView>(home, 'src');
    expect(after.cluster.status.currentPrimary).toBe(other);
    expect(after.instances.find((i) => i.name === other)!.timelineId).toBe(oldTli + 1);
    await switchWalAndWaitArchived();
    writeFileSync(
      join(home, 'by-tli.yaml'),
      `${recoveryCluster('tlilatest', '      backup:\n        name: before-switch\n      recoveryTarget:\n        targetTLI: latest\n')}---\n${recoveryCluster(
        'tliold',
        `      backup:\n        name: before-switch\n      recoveryTarget:\n        targetTLI: "${oldTli}"\n`,
      )}`,
    );
    await pgherdOk(home, ['apply', '-f', join(home, 'by-tli.yaml')]);
    await pgherdOk(home, ['wait', 'tlilatest', '--timeout', '120s']);
    await pgherdOk(home, ['wait', 'tliold', '--timeout', '120s']);
    expect(await ids('tlilatest')).toBe('4001,4002');
    expect(await ids('tliold')).toBe('4001');
    await pgherdOk(home, ['delete', 'cluster', 'tlilatest']);
    await pgherdOk(home, ['delete', 'cluster', 'tliold']);
  });

  it('takes scheduled backups on a seconds-level schedule, stops when suspended, and removes its own on delete', async () => {
    const manifest = (suspend: boolean): string => `apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata:
  name: every5s
spec:
  schedule: "*/5 * * * * *"
  immediate: true
  suspend: ${suspend}
  backupOwnerReference: self
  cluster:
    name: src
`;
    writeFileSync(join(home, 'sb.yaml'), manifest(false));
    await pgherdOk(home, ['apply', '-f', join(home, 'sb.yaml')]);
    const scheduled = async (): Promise<
      Array<{ metadata: { name: string }; status?: { phase?: string } }>
    > => {
      const list = JSON.parse((await pgherdOk(home, ['get', 'backups', '-o', 'json'])).stdout) as {
        items: Array<{
          metadata: { name: string; labels?: Record<string, string> };
          status?: { phase?: string };
        }>;
      };
      return list.items.filter((b) => b.metadata.labels?.['cnpg.io/scheduled-backup'] === 'every5s');
    };
    await eventually(
      'two scheduled backups completed',
      async () =>
        (await scheduled()).filter((b) => b.status?.phase === 'completed').length >= 2 ? true : undefined,
      60_000,
    );
    for (const b of await scheduled()) expect(b.metadata.name).toMatch(/^every5s-\d{14}$/);
    const sb = JSON.parse(
      (await pgherdOk(home, ['get', 'scheduledbackup', 'every5s', '-o', 'json'])).stdout,
    ) as {
      status: { lastScheduleTime?: string; nextScheduleTime?: string };
    };
    expect(sb.status.lastScheduleTime).toBeTruthy();
    expect(sb.status.nextScheduleTime).toBeTruthy();
    writeFileSync(join(home, 'sb.yaml'), manifest(true));
    await pgherdOk(home, ['apply', '-f', join(home, 'sb.yaml')]);
    await new Promise((r) => setTimeout(r, 1500));
    const before = (await scheduled()).length;
    await new Promise((r) => setTimeout(r, 11_000));
    expect((await scheduled()).length).toBe(before);
    // Backups created before the suspension still run, one at a time.
    await eventually(
      'the scheduled backups to finish',
      async () =>
        (await scheduled()).every((b) => ['completed', 'failed'].includes(b.status?.phase ?? ''))
          ? true
          : undefined,
      180_000,
    );
    await pgherdOk(home, ['delete', 'scheduledbackup', 'every5s']);
    await eventually(
      'its backups to be deleted with it',
      async () => ((await scheduled()).length === 0 ? true : undefined),
      30_000,
    );
  });

  it('applies the retention policy: deletes what the recovery window no longer needs, keeps what it does', async () => {
    const base = join(store, 'src', 'base');
    const real = readdirSync(base).sort()[0]!;
    const info = readFileSync(join(base, real, 'backup.info'), 'utf8');
    const day = 86_400_000;
    const fake = (daysAgo: number, wal: string): string => {
      const t = new Date(Date.now() - daysAgo * day);
      const id = t
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, '');
      const py = `${t.toISOString().replace('T', ' ').replace('Z', '')}000+00:00`;
      const dir = join(base, id);
      mkdirSync(dir);
      cpSync(join(base, real, 'data.tar.gz'), join(dir, 'data.tar.gz'));
      writeFileSync(
        join(dir, 'backup.info'),
        info
          .replace(/^begin_time=.*$/m, `begin_time=${py}`)
          .replace(/^end_time=.*$/m, `end_time=${py}`)
          .replace(/^begin_wal=.*$/m, `begin_wal=${wal}`)
          .replace(/^end_wal=.*$/m, `end_wal=${wal}`)
          .replace(/^begin_xlog=.*$/m, `begin_xlog=0/${Number.parseInt(wal.slice(16), 16)}000028`)
          .replace(/^end_xlog=.*$/m, `end_xlog=0/${Number.parseInt(wal.slice(16), 16)}000100`),
      );
      return id;
    };
    const oldest = fake(20, '000000010000000000000001');
    const older = fake(10, '000000010000000000000002');
    const segment1 = join(store, 'src', 'wals', '0000000100000000');
    expect(readdirSync(segment1).some((f) => f.startsWith('000000010000000000000001'))).toBe(true);
    writeFileSync(
      join(home, 'src.yaml'),
      readFileSync(join(home, 'src.yaml'), 'utf8').replace(
        '  backup:\n',
        '  backup:\n    retentionPolicy: "7d"\n',
      ),
    );
    await pgherdOk(home, ['apply', '-f', join(home, 'src.yaml')]);
    await eventually(
      'the 20-day-old backup to be deleted',
      async () => (existsSync(join(base, oldest)) ? undefined : true),
      60_000,
    );
    // The newest backup older than the window is what recovery to the window's start needs.
    expect(existsSync(join(base, older))).toBe(true);
    expect(existsSync(join(base, real))).toBe(true);
    // WAL goes last (after the backup's data and backup.info).
    await eventually(
      'the WAL only the deleted backup needed to be deleted',
      async () =>
        readdirSync(segment1).some((f) => f.startsWith('000000010000000000000001')) ? undefined : true,
      30_000,
    );
    expect(readdirSync(segment1).some((f) => f.startsWith('000000010000000000000002'))).toBe(true);
    await eventually(
      'firstRecoverabilityPoint to move to the oldest kept backup',
      async () => {
        const st = await clusterStatusOf(home, 'src');
        const first = Date.parse(String(st['firstRecoverabilityPoint']));
        return Math.abs(first - (Date.now() - 10 * day)) < 120_000 ? true : undefined;
      },
      30_000,
    );
  });
});
