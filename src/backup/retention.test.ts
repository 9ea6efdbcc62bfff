import { describe, expect, it } from 'vitest';
import type { BackupInfo, BackupStatus } from './backup-info.ts';
import type { CatalogBackup, WalObject } from './catalog.ts';
import { parseRetentionPolicy, planRetention, type RetentionStatus } from './retention.ts';

const NOW = new Date('2026-11-26T12:00:00Z');
const DAY = 24 * 3600 * 1000;

const seg = (tli: number, n: number): string =>
  `${tli.toString(16).toUpperCase().padStart(8, '0')}00000000${n.toString(16).toUpperCase().padStart(8, '0')}`;

interface Spec {
  /** Days before NOW the backup started; the backup id derives from it. */
  ago: number;
  /** Its begin_wal segment number; end_wal is the next one. */
  at: number;
  tli?: number;
  status?: BackupStatus;
  keep?: string;
  /** Hours the backup took (its end time is start + this). */
  took?: number;
}

function backup(s: Spec): CatalogBackup {
  const begin = new Date(NOW.getTime() - s.ago * DAY);
  const end = new Date(begin.getTime() + (s.took ?? 1) * 3600 * 1000);
  const id = begin.toISOString().replace(/[-:]/g, '').slice(0, 15);
  const tli = s.tli ?? 1;
  const done = (s.status ?? 'DONE') === 'DONE';
  const info: BackupInfo = {
    backupLabel: null,
    beginOffset: 40,
    beginTime: begin,
    beginWal: seg(tli, s.at),
    beginXlog: `0/${s.at.toString(16)}000028`,
    configFile: null,
    endOffset: done ? 256 : null,
    endTime: done ? end : null,
    endWal: done ? seg(tli, s.at + 1) : null,
    endXlog: done ? `0/${(s.at + 1).toString(16)}000100` : null,
    error: null,
    hbaFile: null,
    identFile: null,
    includedFiles: null,
    pgdata: '/pg',
    status: s.status ?? 'DONE',
    systemid: '1',
    tablespaces: null,
    timeline: tli,
    version: 150018,
    xlogSegmentSize: 16777216,
  };
  return {
    backupId: id,
    info,
    infoKey: `srv/base/${id}/backup.info`,
    objects: [`srv/base/${id}/data.tar.gz`],
    ...(s.keep !== undefined ? { keep: s.keep } : {}),
  };
}

/** WAL objects for segments [from, to] on a timeline (gzip), plus any extra names. */
function wals(ranges: Array<[tli: number, from: number, to: number]>, extra: string[] = []): WalObject[] {
  const names: string[] = [...extra];
  for (const [tli, from, to] of ranges) for (let n = from; n <= to; n++) names.push(seg(tli, n));
  return names.map((name) => ({
    key: name.endsWith('.history') ? `srv/wals/${name}` : `srv/wals/${name.slice(0, 16)}/${name}.gz`,
    name,
    compression: 'gzip',
    size: 1,
  }));
}

/** The WAL names a plan deletes, compactly: `1:02-05` for timeline 1 segments 2 to 5. */
function walNames(keys: string[]): string[] {
  return keys.map((k) => k.slice(k.lastIndexOf('/') + 1).replace(/\.gz$/, ''));
}

const WEEK = parseRetentionPolicy('7d');

interface Case {
  name: string;
  backups: Spec[];
  wals: WalObject[];
  policy?: string;
  expect: {
    /** Retention status by `ago`. */
    report: Record<number, RetentionStatus>;
    /** Deleted backups by `ago`, in order, each with the WAL names it frees. */
    deletions: Array<[ago: number, wals: string[]]>;
  };
}

const range = (tli: number, from: number, to: number): string[] => {
  const out: string[] = [];
  for (let n = from; n <= to; n++) out.push(seg(tli, n));
  return out;
};

const cases: Case[] = [
  {
    name: 'keeps every backup in the window and the newest one before it; deletes older ones and their WAL',
    backups: [
      { ago: 20, at: 0x02 },
      { ago: 10, at: 0x10 },
      { ago: 8, at: 0x20 },
      { ago: 5, at: 0x30 },
      { ago: 1, at: 0x40 },
    ],
    wals: wals([[1, 0x02, 0x45]]),
    expect: {
      report: { 1: 'VALID', 5: 'VALID', 8: 'VALID', 10: 'OBSOLETE', 20: 'OBSOLETE' },
      deletions: [
        [20, range(1, 0x02, 0x0f)],
        [10, range(1, 0x10, 0x1f)],
      ],
    },
  },
  {
    name: 'a single backup older than the window is kept, and so is its WAL',
    backups: [{ ago: 30, at: 0x02 }],
    wals: wals([[1, 0x01, 0x30]]),
    expect: { report: { 30: 'VALID' }, deletions: [] },
  },
  {
    name: 'a backup that ended exactly at the window start does not anchor it (barman compares <)',
    backups: [
      { ago: 12, at: 0x02 },
      { ago: 9, at: 0x10 },
      // Starts 7 days + 1 h before NOW, takes 1 h: ends exactly at now − 7 days.
      { ago: 7 + 1 / 24, at: 0x20 },
    ],
    wals: wals([[1, 0x02, 0x25]]),
    expect: {
      report: { [7 + 1 / 24]: 'VALID', 9: 'VALID', 12: 'OBSOLETE' },
      deletions: [[12, range(1, 0x02, 0x0f)]],
    },
  },
  {
    name: 'the end time decides, not the start: a backup that started before the window and ended in it is not the anchor',
    backups: [
      { ago: 9, at: 0x02 },
      { ago: 7.5, at: 0x10, took: 24 },
    ],
    wals: wals([[1, 0x02, 0x12]]),
    expect: { report: { 7.5: 'VALID', 9: 'VALID' }, deletions: [] },
  },
  {
    name: 'FAILED backups are never deleted and never anchor the window or end a WAL range',
    backups: [
      { ago: 20, at: 0x02 },
      { ago: 15, at: 0x08, status: 'FAILED' },
      { ago: 10, at: 0x10 },
      { ago: 9, at: 0x18, status: 'FAILED' },
      { ago: 3, at: 0x20 },
    ],
    wals: wals([[1, 0x02, 0x22]]),
    expect: {
      report: { 3: 'VALID', 9: '-', 10: 'VALID', 15: '-', 20: 'OBSOLETE' },
      // The next DONE backup after 20 days is the one of 10 days: WAL up to before 0x10 goes,
      // the failed backup of 15 days' WAL included (it is unusable anyway).
      deletions: [[20, range(1, 0x02, 0x0f)]],
    },
  },
  {
    name: 'a keep:full backup is never deleted, and the WAL after it stays (PITR from it to now)',
    backups: [
      { ago: 30, at: 0x02, keep: 'full' },
      { ago: 20, at: 0x10 },
      { ago: 10, at: 0x20 },
      { ago: 2, at: 0x30 },
    ],
    wals: wals([[1, 0x02, 0x31]]),
    expect: {
      report: { 2: 'VALID', 10: 'VALID', 20: 'OBSOLETE', 30: 'KEEP:FULL' },
      deletions: [[20, []]],
    },
  },
  {
    name: 'a keep:standalone backup keeps only its own begin..end WAL',
    backups: [
      { ago: 30, at: 0x02, keep: 'standalone' },
      { ago: 20, at: 0x10 },
      { ago: 10, at: 0x20 },
      { ago: 2, at: 0x30 },
    ],
    wals: wals([[1, 0x01, 0x31]]),
    expect: {
      report: { 2: 'VALID', 10: 'VALID', 20: 'OBSOLETE', 30: 'KEEP:STANDALONE' },
      // 0x01 (before it), 0x04..0x1f go; 0x02 and 0x03 (its begin and end WAL) stay.
      deletions: [[20, [seg(1, 0x01), ...range(1, 0x04, 0x1f)]]],
    },
  },
  {
    name: 'a keep annotation on a backup inside the window changes nothing',
    backups: [
      { ago: 20, at: 0x02 },
      { ago: 10, at: 0x10 },
      { ago: 2, at: 0x20, keep: 'full' },
    ],
    wals: wals([[1, 0x02, 0x21]]),
    expect: {
      report: { 2: 'KEEP:FULL', 10: 'VALID', 20: 'OBSOLETE' },
      deletions: [[20, range(1, 0x02, 0x0f)]],
    },
  },
  {
    name: 'after a failover: old-timeline WAL goes with the old backups, history files stay',
    backups: [
      { ago: 20, at: 0x02, tli: 1 },
      { ago: 10, at: 0x30, tli: 2 },
      { ago: 2, at: 0x40, tli: 2 },
    ],
    wals: wals(
      [
        [1, 0x02, 0x2a],
        [2, 0x2a, 0x41],
      ],
      ['00000002.history'],
    ),
    expect: {
      report: { 2: 'VALID', 10: 'VALID', 20: 'OBSOLETE' },
      deletions: [[20, [...range(1, 0x02, 0x2a), ...range(2, 0x2a, 0x2f)]]],
    },
  },
  {
    name: 'WAL on a newer timeline than the next backup is never touched',
    backups: [
      { ago: 20, at: 0x02, tli: 1 },
      { ago: 10, at: 0x30, tli: 2 },
      { ago: 2, at: 0x40, tli: 3 },
    ],
    wals: wals([
      [1, 0x02, 0x2a],
      [2, 0x2a, 0x3a],
      [3, 0x3a, 0x41],
    ]),
    expect: {
      report: { 2: 'VALID', 10: 'VALID', 20: 'OBSOLETE' },
      // Timeline 1 has no backup left, so all of it goes; timeline 2 up to before 0x30.
      deletions: [[20, [...range(1, 0x02, 0x2a), ...range(2, 0x2a, 0x2f)]]],
    },
  },
  {
    name: 'WAL on a timeline another backup is on stays, even one that sorts before the next backup',
    backups: [
      { ago: 20, at: 0x10, tli: 2 },
      { ago: 10, at: 0x30, tli: 3 },
      // A backup of a sibling history on timeline 1 (a cluster restored to an old point).
      { ago: 2, at: 0x40, tli: 1 },
    ],
    wals: wals([
      [1, 0x02, 0x41],
      [2, 0x10, 0x2a],
      [3, 0x2a, 0x31],
    ]),
    expect: {
      report: { 2: 'VALID', 10: 'VALID', 20: 'OBSOLETE' },
      deletions: [[20, [...range(2, 0x10, 0x2a), ...range(3, 0x2a, 0x2f)]]],
    },
  },
  {
    name: '.backup files compare by their segment, .partial ones by name; both stay from begin_wal on',
    backups: [
      { ago: 20, at: 0x02 },
      { ago: 10, at: 0x10 },
      { ago: 2, at: 0x20 },
    ],
    wals: wals(
      [[1, 0x02, 0x11]],
      [`${seg(1, 0x02)}.00000028.backup`, `${seg(1, 0x10)}.00000028.backup`, `${seg(1, 0x0f)}.partial`],
    ),
    expect: {
      report: { 2: 'VALID', 10: 'VALID', 20: 'OBSOLETE' },
      deletions: [
        [
          20,
          [
            seg(1, 0x02),
            `${seg(1, 0x02)}.00000028.backup`,
            ...range(1, 0x03, 0x0f),
            `${seg(1, 0x0f)}.partial`,
          ],
        ],
      ],
    },
  },
  {
    name: 'months are 31 days',
    policy: '1m',
    backups: [
      { ago: 40, at: 0x02 },
      { ago: 32, at: 0x10 },
      { ago: 30.5, at: 0x20 },
    ],
    wals: wals([[1, 0x02, 0x21]]),
    expect: {
      report: { 30.5: 'VALID', 32: 'VALID', 40: 'OBSOLETE' },
      deletions: [[40, range(1, 0x02, 0x0f)]],
    },
  },
  {
    name: 'nothing is obsolete while every backup is inside the window',
    backups: [
      { ago: 6, at: 0x02 },
      { ago: 3, at: 0x10 },
    ],
    wals: wals([[1, 0x01, 0x11]]),
    expect: { report: { 3: 'VALID', 6: 'VALID' }, deletions: [] },
  },
];

describe('planning retention with barman-cloud-backup-delete -r "RECOVERY WINDOW OF ..."', () => {
  it.each(cases)('$name', (c) => {
    const backups = c.backups.map(backup);
    const idOf = new Map(c.backups.map((s, i) => [s.ago, backups[i]!.backupId]));
    const plan = planRetention({
      backups,
      wals: c.wals,
      policy: c.policy === undefined ? WEEK : parseRetentionPolicy(c.policy),
      now: NOW,
    });
    const report = Object.fromEntries(plan.report.map((r) => [r.backupId, r.status]));
    expect(report).toEqual(
      Object.fromEntries(Object.entries(c.expect.report).map(([ago, s]) => [idOf.get(Number(ago)), s])),
    );
    expect(plan.deletions.map((d) => [d.backupId, walNames(d.wals)])).toEqual(
      c.expect.deletions.map(([ago, w]) => [idOf.get(ago), w]),
    );
    for (const d of plan.deletions) {
      expect(d.objects).toEqual([`srv/base/${d.backupId}/data.tar.gz`]);
      expect(d.backupInfo).toBe(`srv/base/${d.backupId}/backup.info`);
    }
    expect(plan.reason).toMatch(plan.deletions.length === 0 ? /^nothing to delete/ : /^deleting \d+ backup/);
  });

  it('says what it deletes and why, in one sentence', () => {
    const plan = planRetention({
      backups: [backup({ ago: 20, at: 2 }), backup({ ago: 10, at: 0x10 })],
      wals: wals([[1, 2, 0x10]]),
      policy: WEEK,
      now: NOW,
    });
    expect(plan.pointOfRecoverability).toEqual(new Date('2026-11-19T12:00:00Z'));
    expect(plan.reason).toBe(
      'deleting 1 backup (20261106T120000) and 14 WAL files: not needed to recover to any point after 2026-11-19T12:00:00.000Z (RECOVERY WINDOW OF 7 DAYS)',
    );
  });

  it('deletes nothing when a backup.info cannot be read, as barman refuses to', () => {
    const unreadable: CatalogBackup = {
      backupId: '20261101T000000',
      info: null,
      readError: 'backup.info timeline: "x" is not an integer',
      infoKey: 'srv/base/20261101T000000/backup.info',
      objects: [],
    };
    const plan = planRetention({
      backups: [unreadable, backup({ ago: 20, at: 2 }), backup({ ago: 10, at: 0x10 })],
      wals: wals([[1, 2, 0x10]]),
      policy: WEEK,
      now: NOW,
    });
    expect(plan.deletions).toEqual([]);
    expect(plan.reason).toMatch(
      /^nothing deleted: the backup.info of 20261101T000000 \(backup.info timeline/,
    );
  });

  it('refuses a plan that would delete WAL a kept backup needs (backup ids out of WAL order)', () => {
    // The newest backup by id begins at an older WAL than the anchor (a clock that went back).
    const skewed = backup({ ago: 1, at: 0x12 });
    expect(() =>
      planRetention({
        backups: [backup({ ago: 20, at: 2 }), backup({ ago: 10, at: 0x20 }), skewed],
        wals: wals([[1, 2, 0x22]]),
        policy: WEEK,
        now: NOW,
      }),
    ).toThrow(
      /retention refused: the plan would delete .*000000010000000000000012.gz, which backup \S+ needs/,
    );
  });

  it('deletes every key a WAL name has (a segment archived both plain and compressed)', () => {
    const both = wals([[1, 2, 3]]);
    both.push({
      key: `srv/wals/0000000100000000/${seg(1, 2)}`,
      name: seg(1, 2),
      compression: 'none',
      size: 1,
    });
    const plan = planRetention({
      backups: [backup({ ago: 20, at: 4 }), backup({ ago: 10, at: 0x10 })],
      wals: both,
      policy: WEEK,
      now: NOW,
    });
    expect(plan.deletions[0]!.wals.sort()).toEqual([
      `srv/wals/0000000100000000/${seg(1, 2)}`,
      `srv/wals/0000000100000000/${seg(1, 2)}.gz`,
      `srv/wals/0000000100000000/${seg(1, 3)}.gz`,
    ]);
  });
});

describe('parsing retentionPolicy', () => {
  it("turns CNPG's pattern into barman's recovery window", () => {
    expect(parseRetentionPolicy('30d')).toEqual({
      value: 30,
      unit: 'd',
      windowMs: 30 * DAY,
      barman: 'RECOVERY WINDOW OF 30 DAYS',
    });
    expect(parseRetentionPolicy('2w')).toMatchObject({
      windowMs: 14 * DAY,
      barman: 'RECOVERY WINDOW OF 2 WEEKS',
    });
    expect(parseRetentionPolicy('6m')).toMatchObject({
      windowMs: 186 * DAY,
      barman: 'RECOVERY WINDOW OF 6 MONTHS',
    });
  });
  it.each(['0d', '30', '30D', '1y', ' 30d', '30d ', '-1d', '01d', ''])('refuses %j', (text) => {
    expect(() => parseRetentionPolicy(text)).toThrow(/is not a number of days, weeks or months/);
  });
});
