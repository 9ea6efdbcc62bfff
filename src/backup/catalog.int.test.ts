/**
 * The catalog against Debian's barman-cloud 3.4 on an S3-protocol server: barman-cloud-backup-list
 * sees the same backups (DONE and FAILED, as pgherd writes them) as listBackups, and
 * barman-cloud-check-wal-archive passes and fails where checkWalArchiveEmpty does.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, type TestS3 } from '../../test/harness/s3.ts';
import { type BackupInfo, renderBackupInfo } from './backup-info.ts';
import { checkWalArchiveEmpty, listBackups } from './catalog.ts';
import { S3ObjectStore } from './stores/s3-store.ts';

const run = promisify(execFile);
const haveBarman = existsSync('/usr/bin/barman-cloud-check-wal-archive');
if (!haveBarman && process.env['CI'] === 'true') {
  throw new Error('barman-cli-cloud is not installed: scripts/setup.sh installs it for CI');
}

const DONE: BackupInfo = {
  backupLabel: 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n',
  beginOffset: 40,
  beginTime: new Date('2026-11-20T12:00:00Z'),
  beginWal: '000000010000000000000002',
  beginXlog: '0/2000028',
  configFile: '/pg/postgresql.conf',
  endOffset: 256,
  endTime: new Date('2026-11-20T12:05:00.250Z'),
  endWal: '000000010000000000000002',
  endXlog: '0/2000100',
  error: null,
  hbaFile: '/pg/pg_hba.conf',
  identFile: '/pg/pg_ident.conf',
  includedFiles: null,
  pgdata: '/pg',
  status: 'DONE',
  systemid: '7712457031645793329',
  tablespaces: null,
  timeline: 1,
  version: 150018,
  xlogSegmentSize: 16777216,
};

describe.runIf(haveBarman)('the catalog and barman-cloud 3.4', () => {
  let tmp: string;
  let s3: TestS3;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    tmp = mkdtempSync('/tmp/pgherd-catalog-');
    s3 = await startS3(join(tmp, 's3'), ['cat']);
    env = {
      PATH: '/usr/bin:/bin',
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
    };
  });
  afterAll(async () => {
    await s3.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  const store = (prefix: string): S3ObjectStore =>
    new S3ObjectStore({ bucket: 'cat', prefix, endpoint: s3.endpoint, credentials: s3.credentials });

  it('barman-cloud-backup-list lists the backups listBackups lists, with the same status and end', async () => {
    const s = store('list');
    await s.put(
      'srv/base/20261120T120000/backup.info',
      Buffer.from(renderBackupInfo({ ...DONE, backupName: 'n1' })),
    );
    await s.put('srv/base/20261120T120000/data.tar.gz', Buffer.from('tar'));
    const failed: BackupInfo = {
      ...DONE,
      beginTime: new Date('2026-11-21T12:00:00Z'),
      beginWal: '000000010000000000000004',
      status: 'FAILED',
      error: 'failure taking the backup (disk full)',
      endTime: null,
      endWal: null,
      endXlog: null,
      endOffset: null,
      backupLabel: null,
    };
    await s.put('srv/base/20261121T120000/backup.info', Buffer.from(renderBackupInfo(failed)));
    const { stdout } = await run(
      '/usr/bin/barman-cloud-backup-list',
      ['--format', 'json', '--endpoint-url', s3.endpoint, 's3://cat/list', 'srv'],
      { env },
    );
    const barman = (
      JSON.parse(stdout) as {
        backups_list: Array<{
          backup_id: string;
          status: string;
          end_time: string | null;
          backup_name?: string;
        }>;
      }
    ).backups_list.map((b) => [b.backup_id, b.status, b.end_time, b.backup_name ?? null]);
    const ours = (await listBackups(s, 'srv')).map((b) => [
      b.backupId,
      b.info?.status,
      // barman-cloud-backup-list prints ctime(): "Fri Nov 20 12:05:00 2026".
      b.info?.endTime ? ctime(b.info.endTime) : null,
      b.info?.backupName ?? null,
    ]);
    expect(ours).toEqual(barman);
    expect(barman).toEqual([
      ['20261120T120000', 'DONE', 'Fri Nov 20 12:05:00 2026', 'n1'],
      ['20261121T120000', 'FAILED', null, null],
    ]);
  });

  const layouts: Array<{ name: string; keys: string[]; barman: 'pass' | 'fail'; pgherd: 'pass' | 'fail' }> = [
    { name: 'nothing at all', keys: [], barman: 'pass', pgherd: 'pass' },
    {
      name: 'base backups only',
      keys: ['srv/base/20261120T120000/backup.info'],
      barman: 'pass',
      pgherd: 'pass',
    },
    { name: 'another server name', keys: ['other/wals/00000002.history'], barman: 'pass', pgherd: 'pass' },
    { name: 'a non-WAL key under wals/', keys: ['srv/wals/README'], barman: 'pass', pgherd: 'pass' },
    { name: 'a history file', keys: ['srv/wals/00000002.history'], barman: 'fail', pgherd: 'fail' },
    {
      name: 'a gzip segment',
      keys: ['srv/wals/0000000100000000/000000010000000000000001.gz'],
      barman: 'fail',
      pgherd: 'fail',
    },
    {
      name: 'a .partial file',
      keys: ['srv/wals/0000000100000000/000000010000000000000001.partial'],
      barman: 'fail',
      pgherd: 'fail',
    },
    // barman 3.4 does not know the .lz4 suffix (3.12+ does); pgherd writes it, so it counts.
    {
      name: 'an lz4 segment (barman 3.4 does not know .lz4)',
      keys: ['srv/wals/0000000100000000/000000010000000000000001.lz4'],
      barman: 'pass',
      pgherd: 'fail',
    },
  ];
  it.each(layouts)('the empty-archive check with $name: barman $barman, pgherd $pgherd', async (layout) => {
    const prefix = `check-${layouts.indexOf(layout)}`;
    const s = store(prefix);
    for (const k of layout.keys) await s.put(k, Buffer.from('x'));
    const barman = await run(
      '/usr/bin/barman-cloud-check-wal-archive',
      ['--endpoint-url', s3.endpoint, `s3://cat/${prefix}`, 'srv'],
      { env },
    ).then(
      () => 'pass',
      (err: { code?: number; stderr?: string }) => {
        expect(err.stderr).toMatch(/Expected empty archive/);
        return 'fail';
      },
    );
    expect(barman).toBe(layout.barman);
    expect((await checkWalArchiveEmpty(s, 'srv')) === undefined ? 'pass' : 'fail').toBe(layout.pgherd);
  });
});

/** Python's datetime.ctime() in UTC: `Fri Nov 20 12:05:00 2026`. */
function ctime(d: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][
    d.getUTCMonth()
  ];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}
