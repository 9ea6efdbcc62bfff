import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ObjectStoreError } from '../ports/object-store.ts';
import { type BackupInfo, renderBackupInfo } from './backup-info.ts';
import {
  type CatalogBackup,
  checkWalArchiveEmpty,
  chooseBackupForTarget,
  findBackup,
  firstRecoverabilityPoint,
  lastSuccessfulBackup,
  listBackups,
  parseTargetTime,
  WalArchiveNotEmptyError,
  walSegmentsIn,
} from './catalog.ts';
import { MemoryObjectStore } from './stores/memory-store.ts';

const seg = (tli: number, n: number): string =>
  `${tli.toString(16).toUpperCase().padStart(8, '0')}00000000${n.toString(16).toUpperCase().padStart(8, '0')}`;

/** A backup.info as barman-cloud writes it for a backup on `tli` from segment `n`. */
function info(
  begin: string,
  end: string | null,
  tli: number,
  n: number,
  extra: Partial<BackupInfo> = {},
): BackupInfo {
  return {
    backupLabel: end === null ? null : 'START WAL LOCATION: ...\n',
    beginOffset: 40,
    beginTime: new Date(begin),
    beginWal: seg(tli, n),
    beginXlog: `0/${n.toString(16).toUpperCase()}000028`,
    configFile: '/pg/postgresql.conf',
    endOffset: end === null ? null : 256,
    endTime: end === null ? null : new Date(end),
    endWal: end === null ? null : seg(tli, n + 1),
    endXlog: end === null ? null : `0/${(n + 1).toString(16).toUpperCase()}000100`,
    error: end === null ? 'failure uploading data (boom)' : null,
    hbaFile: '/pg/pg_hba.conf',
    identFile: '/pg/pg_ident.conf',
    includedFiles: null,
    pgdata: '/pg',
    status: end === null ? 'FAILED' : 'DONE',
    systemid: '7712457031645793329',
    tablespaces: null,
    timeline: tli,
    version: 150018,
    xlogSegmentSize: 16777216,
    ...extra,
  };
}

function storeWith(backups: Array<[string, BackupInfo, string[]?]>): MemoryObjectStore {
  const s = new MemoryObjectStore();
  for (const [id, i, files = ['data.tar.gz']] of backups) {
    s.objects.set(`srv/base/${id}/backup.info`, Buffer.from(renderBackupInfo(i)));
    for (const f of files) s.objects.set(`srv/base/${id}/${f}`, Buffer.from('tar'));
  }
  return s;
}

const A = ['20261101T000000', info('2026-11-01T00:00:00Z', '2026-11-01T00:10:00Z', 1, 2)] as const;
const B = ['20261110T000000', info('2026-11-10T00:00:00Z', '2026-11-10T00:10:00Z', 1, 0x20)] as const;
const C = ['20261120T000000', info('2026-11-20T00:00:00Z', '2026-11-20T00:10:00Z', 2, 0x40)] as const;
const F = ['20261125T000000', info('2026-11-25T00:00:00Z', null, 2, 0x60)] as const;

describe('listing the backups in a store', () => {
  it('reads every base/<id>/backup.info, sorted by end time, failed and unreadable ones included', async () => {
    const store = storeWith([[...C], [...A], [...F], [...B]]);
    store.objects.set('srv/base/20261121T000000/backup.info', Buffer.from('status=DONE\ntimeline=x\n'));
    // A folder without backup.info (a backup still running) is no backup; nor is another server's.
    store.objects.set('srv/base/20261126T000000/data.tar', Buffer.from('tar'));
    store.objects.set('other/base/20261102T000000/backup.info', Buffer.from(renderBackupInfo(A[1])));
    store.objects.set(`srv/base/${A[0]}/annotations/keep`, Buffer.from('standalone'));
    const list = await listBackups(store, 'srv');
    expect(list.map((b) => [b.backupId, b.info?.status ?? 'unreadable'])).toEqual([
      ['20261101T000000', 'DONE'],
      ['20261110T000000', 'DONE'],
      ['20261120T000000', 'DONE'],
      ['20261125T000000', 'FAILED'],
      ['20261121T000000', 'unreadable'],
    ]);
    expect(list[0]).toMatchObject({
      infoKey: 'srv/base/20261101T000000/backup.info',
      objects: ['srv/base/20261101T000000/annotations/keep', 'srv/base/20261101T000000/data.tar.gz'],
      keep: 'standalone',
    });
    expect(list[4]!.readError).toMatch(/timeline "x" is not an integer/);
  });

  it('reads a backup.info that barman-cloud-backup 3.4 wrote (testdata/README.md)', async () => {
    const store = new MemoryObjectStore();
    store.objects.set(
      'srv/base/20261126T123223/backup.info',
      readFileSync(new URL('./testdata/barman-cloud-3.4-done.backup.info', import.meta.url)),
    );
    store.objects.set('srv/base/20261126T123223/data.tar.gz', Buffer.from('tar'));
    const list = await listBackups(store, 'srv');
    // Its tablespace tar (16385.tar.gz) is missing: listed, but no restore can start from it.
    expect(chooseBackupForTarget(list, {}).backup).toBeUndefined();
    store.objects.set('srv/base/20261126T123223/16385.tar.gz', Buffer.from('tar'));
    expect(chooseBackupForTarget(await listBackups(store, 'srv'), {}).backup?.backupId).toBe(
      '20261126T123223',
    );
  });

  it('finds a backup by id or by name, as barman resolves them', async () => {
    const named = info('2026-11-12T00:00:00Z', '2026-11-12T00:10:00Z', 1, 0x30, { backupName: 'nightly' });
    const list = await listBackups(storeWith([[...A], ['20261112T000000', named]]), 'srv');
    expect(findBackup(list, '20261101T000000')?.backupId).toBe('20261101T000000');
    expect(findBackup(list, 'nightly')?.backupId).toBe('20261112T000000');
    expect(findBackup(list, '20991101T000000')).toBeUndefined();
    const twice = await listBackups(
      storeWith([
        ['20261112T000000', named],
        ['20261113T000000', named],
      ]),
      'srv',
    );
    expect(() => findBackup(twice, 'nightly')).toThrow(/several backups are named "nightly"/);
  });
});

describe("choosing the backup for a recovery target (CNPG's FindBackupInfo)", () => {
  let list: CatalogBackup[];
  const load = async (): Promise<CatalogBackup[]> => {
    list ??= await listBackups(storeWith([[...A], [...B], [...C], [...F]]), 'srv');
    return list;
  };
  const cases: Array<{
    name: string;
    target: Parameters<typeof chooseBackupForTarget>[1];
    expect: string | undefined;
  }> = [
    { name: 'no target: the newest completed backup (never the FAILED one)', target: {}, expect: C[0] },
    { name: 'backupID: that backup', target: { backupID: A[0] }, expect: A[0] },
    { name: 'backupID of a FAILED backup: none', target: { backupID: F[0] }, expect: undefined },
    {
      name: 'targetTime: the newest that ended at or before it',
      target: { targetTime: '2026-11-15 00:00:00' },
      expect: B[0],
    },
    {
      name: 'targetTime equal to an end time: that backup (<=)',
      target: { targetTime: '2026-11-10T00:10:00Z' },
      expect: B[0],
    },
    {
      name: 'targetTime one second before the end: the older one',
      target: { targetTime: '2026-11-10T00:09:59Z' },
      expect: A[0],
    },
    {
      name: 'targetTime before every backup: none',
      target: { targetTime: '2026-10-01T00:00:00Z' },
      expect: undefined,
    },
    { name: 'targetTime with an offset', target: { targetTime: '2026-11-20T02:10:00+02:00' }, expect: C[0] },
    {
      name: 'targetLSN: the newest that ends strictly before it',
      target: { targetLSN: '0/41000101' },
      expect: C[0],
    },
    {
      name: 'targetLSN equal to an end LSN: the older one (<)',
      target: { targetLSN: '0/41000100' },
      expect: B[0],
    },
    { name: 'targetTLI 1: only timeline 1', target: { targetTLI: '1' }, expect: B[0] },
    {
      name: 'targetTLI 1 with targetTime after the timeline-2 backup',
      target: { targetTLI: '1', targetTime: '2026-11-26T00:00:00Z' },
      expect: B[0],
    },
    { name: 'targetTLI latest: any timeline', target: { targetTLI: 'latest' }, expect: C[0] },
    { name: 'targetTLI 3: none on it', target: { targetTLI: '3' }, expect: undefined },
    {
      name: 'targetTLI current: not a timeline CNPG accepts',
      target: { targetTLI: 'current' },
      expect: undefined,
    },
  ];
  it.each(cases)('$name', async ({ target, expect: want }) => {
    const choice = chooseBackupForTarget(await load(), target);
    expect(choice.backup?.backupId).toBe(want);
    expect(choice.reason).not.toBe('');
  });

  it('explains a miss with the backups it saw', async () => {
    expect(chooseBackupForTarget(await load(), { targetTime: '2026-10-01T00:00:00Z' }).reason).toBe(
      'no completed backup ended at or before targetTime 2026-10-01T00:00:00.000Z (backups: 20261101T000000 DONE, 20261110T000000 DONE, 20261120T000000 DONE, 20261125T000000 FAILED)',
    );
  });

  it('gives firstRecoverabilityPoint and lastSuccessfulBackup as CNPG computes them', async () => {
    expect(firstRecoverabilityPoint(await load())).toEqual(new Date('2026-11-01T00:10:00Z'));
    expect(lastSuccessfulBackup(await load())?.backupId).toBe(C[0]);
    expect(firstRecoverabilityPoint([])).toBeUndefined();
    expect(lastSuccessfulBackup([])).toBeUndefined();
  });

  it("parses targetTime in CNPG's formats, no zone meaning UTC", () => {
    const t = new Date('2026-11-26T12:00:00Z');
    for (const s of [
      '2026-11-26 12:00:00',
      '2026-11-26 12:00:00.000000+00',
      '2026-11-26 14:00:00+02:00',
      '2026-11-26T12:00:00Z',
      '2026-11-26T07:00:00-05:00',
      '2026-11-26T12:00:00.000000Z',
      '2026-11-26T12:00:00',
    ]) {
      expect(parseTargetTime(s)).toEqual(t);
    }
    expect(() => parseTargetTime('yesterday')).toThrow(/not a time CNPG accepts/);
  });
});

describe('WAL objects and the empty-archive check', () => {
  it('lists WAL files with at most one compression suffix, ignoring other keys', async () => {
    const store = new MemoryObjectStore();
    for (const k of [
      'srv/wals/0000000100000000/000000010000000000000001.gz',
      'srv/wals/0000000100000000/000000010000000000000002.lz4',
      'srv/wals/0000000100000000/000000010000000000000002.00000028.backup',
      'srv/wals/0000000100000000/000000010000000000000003.partial',
      'srv/wals/00000002.history.gz',
      'srv/wals/0000000100000000/readme.txt',
      'srv/wals/0000000100000000/000000010000000000000004.gz.tmp',
      'srv/base/20261101T000000/backup.info',
    ]) {
      store.objects.set(k, Buffer.from('x'));
    }
    expect((await walSegmentsIn(store, 'srv')).map((w) => [w.name, w.compression])).toEqual([
      ['000000010000000000000001', 'gzip'],
      ['000000010000000000000002.00000028.backup', 'none'],
      ['000000010000000000000002', 'lz4'],
      ['000000010000000000000003.partial', 'none'],
      ['00000002.history', 'gzip'],
    ]);
  });

  it('passes an archive without WAL (base backups do not count) and a missing bucket', async () => {
    const store = storeWith([[...A]]);
    expect(await checkWalArchiveEmpty(store, 'srv')).toBeUndefined();
    const missing = new MemoryObjectStore();
    missing.list = async () => {
      throw new ObjectStoreError('no-bucket', 'no such bucket');
    };
    expect(await checkWalArchiveEmpty(missing, 'srv')).toBeUndefined();
  });

  it("fails with what it found when another cluster's WAL or history is there", async () => {
    const store = new MemoryObjectStore();
    store.objects.set(
      'srv/wals/00000002.history',
      Buffer.from('1\t0/3000000\tno recovery target specified\n'),
    );
    store.objects.set('srv/wals/0000000100000000/000000010000000000000001.gz', Buffer.from('x'));
    const err = await checkWalArchiveEmpty(store, 'srv');
    expect(err).toBeInstanceOf(WalArchiveNotEmptyError);
    expect(err?.code).toBe('PGHERD_BACKUP_WAL_ARCHIVE_NOT_EMPTY');
    expect(err?.found).toEqual([
      'srv/wals/0000000100000000/000000010000000000000001.gz',
      'srv/wals/00000002.history',
    ]);
    expect(err?.message).toMatch(
      /^the WAL archive memory:\/\/\/srv\/wals\/ is not empty: it holds 2 WAL files \(srv\/wals\/.*\).*another serverName/,
    );
  });
});
