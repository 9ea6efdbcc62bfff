import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type BackupInfo,
  isDoneBackup,
  parseBackupInfo,
  parseBackupInfoFields,
  parsePythonDateTime,
  parsePythonLiteral,
  pythonStr,
  pythonUtc,
  renderBackupInfo,
} from './backup-info.ts';

/** Written by barman-cloud-backup 3.4 (provenance: testdata/README.md). */
const fixture = (name: string): string =>
  readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

const SAMPLE: BackupInfo = {
  backupLabel:
    "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\nLABEL: pgherd's backup\n",
  beginOffset: 40,
  beginTime: new Date('2026-11-26T12:00:00.123Z'),
  beginWal: '000000010000000000000002',
  beginXlog: '0/2000028',
  configFile: '/x/postgresql.conf',
  endOffset: 312,
  endTime: new Date('2026-11-26T12:00:05Z'),
  endWal: '000000010000000000000002',
  endXlog: '0/2000138',
  error: null,
  hbaFile: '/x/pg_hba.conf',
  identFile: '/x/pg_ident.conf',
  includedFiles: null,
  pgdata: '/x',
  status: 'DONE',
  systemid: '7712409689682139364',
  tablespaces: [{ name: 'fast', oid: 16385, location: '/ssd/fast' }],
  timeline: 1,
  version: 150018,
  xlogSegmentSize: 16777216,
};

describe('backup.info as barman 3.4 writes it', () => {
  it("quotes strings as Python's repr() does", () => {
    expect(pythonStr('plain')).toBe("'plain'");
    expect(pythonStr("it's")).toBe('"it\'s"');
    expect(pythonStr('both \' and "')).toBe("'both \\' and \"'");
    expect(pythonStr('a\nb\\c\t\x01')).toBe("'a\\nb\\\\c\\t\\x01'");
  });
  it('prints times as str() of an aware datetime (microseconds only when not zero)', () => {
    expect(pythonUtc(new Date('2026-11-26T12:00:00.123Z'))).toBe('2026-11-26 12:00:00.123000+00:00');
    expect(pythonUtc(new Date('2026-11-26T12:00:05Z'))).toBe('2026-11-26 12:00:05+00:00');
  });
  it('writes exactly the known keys, sorted, and reads them back', () => {
    const text = renderBackupInfo(SAMPLE);
    const fields = parseBackupInfoFields(text);
    expect([...fields.keys()]).toEqual([...fields.keys()].sort());
    expect(fields.get('tablespaces')).toBe("[('fast', 16385, '/ssd/fast')]");
    expect(fields.get('server_name')).toBe('cloud');
    expect(fields.get('backup_label')).toBe(
      '"START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\\nCHECKPOINT LOCATION: 0/2000060\\nLABEL: pgherd\'s backup\\n"',
    );
    expect(fields.has('backup_name')).toBe(false);
    expect(text.split('\n').filter((l) => l !== '')).toHaveLength(27);
  });
});

describe('reading backup.info as barman writes it', () => {
  it('reads a DONE backup.info written by barman-cloud-backup 3.4, field for field', () => {
    const info = parseBackupInfo(fixture('barman-cloud-3.4-done.backup.info'));
    expect(info).toMatchObject({
      backupLabel:
        'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2026-11-26 12:32:25 UTC\nLABEL: Barman backup cloud 20261126T123223\nSTART TIMELINE: 1\n',
      backupName: 'nightly',
      beginOffset: 40,
      beginTime: new Date('2026-11-26T12:32:23.163Z'),
      beginWal: '000000010000000000000002',
      beginXlog: '0/2000028',
      compression: null,
      configFile: '/tmp/bcap/data/postgresql.conf',
      deduplicatedSize: null,
      endOffset: 256,
      endTime: new Date('2026-11-26T12:32:27.865Z'),
      endWal: '000000010000000000000002',
      endXlog: '0/2000100',
      error: null,
      includedFiles: null,
      mode: null,
      pgdata: '/tmp/bcap/data',
      serverName: 'cloud',
      size: null,
      status: 'DONE',
      systemid: '7712457031645793329',
      tablespaces: [{ name: 'ts1', oid: 16385, location: '/tmp/bcap/ts1' }],
      timeline: 1,
      version: 150018,
      xlogSegmentSize: 16777216,
    });
    expect(info.copyStats).toMatchObject({ number_of_workers: 2, copy_time_per_item: { '16385': 0.07771 } });
    expect(info.unknownFields).toBeUndefined();
    expect(isDoneBackup(info)).toBe(true);
  });

  it('reads a FAILED backup.info: the error, and no end time, WAL or LSN', () => {
    const info = parseBackupInfo(fixture('barman-cloud-3.4-failed.backup.info'));
    expect(info.status).toBe('FAILED');
    expect(info.error).toBe(
      "failure uploading data ([Errno 13] Permission denied: '/tmp/bcap/data/unreadable')",
    );
    expect([info.endTime, info.endWal, info.endXlog, info.endOffset, info.backupLabel]).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(info.backupName).toBeUndefined();
    expect(info.beginWal).toBe('000000010000000000000004');
    expect(isDoneBackup(info)).toBe(false);
  });

  it('reads back what pgherd writes (renderBackupInfo), None included', () => {
    expect(parseBackupInfo(renderBackupInfo(SAMPLE))).toMatchObject(SAMPLE);
    const failed: BackupInfo = {
      ...SAMPLE,
      status: 'FAILED',
      endTime: null,
      endWal: null,
      endXlog: null,
      endOffset: null,
      error: 'boom',
    };
    expect(parseBackupInfo(renderBackupInfo(failed))).toMatchObject(failed);
  });

  it('keeps the keys newer barman writes (3.11+) and unknown ones without failing', () => {
    // Synthetic: barman 3.17's extra fields, as infofile.py dumps them.
    const text = `${fixture('barman-cloud-3.4-done.backup.info')}children_backup_ids=20261127T000000,20261128T000000
cluster_size=31457280
data_checksums=on
encryption=None
parent_backup_id=None
summarize_wal=off
snapshots_info=None
future_key=some value = with equals
# a comment
`;
    const info = parseBackupInfo(text);
    expect(info.childrenBackupIds).toEqual(['20261127T000000', '20261128T000000']);
    expect(info.clusterSize).toBe(31457280);
    expect(info.dataChecksums).toBe('on');
    expect(info.encryption).toBeNull();
    expect(info.parentBackupId).toBeNull();
    expect(info.summarizeWal).toBe('off');
    expect(info.unknownFields).toEqual({ future_key: 'some value = with equals' });
  });

  it('says which key is wrong, and refuses lines barman refuses', () => {
    expect(() => parseBackupInfo('status=DONE\ntimeline=one\n')).toThrow(/timeline "one" is not an integer/);
    expect(() => parseBackupInfo('status=DONE\nbegin_time=yesterday\n')).toThrow(/begin_time/);
    expect(() => parseBackupInfo('status=MAYBE\n')).toThrow(/status "MAYBE"/);
    expect(() => parseBackupInfo('status=DONE\njunk\n')).toThrow(/without "="/);
    expect(parseBackupInfo('').status).toBe('EMPTY');
  });

  it("parses Python literals as ast.literal_eval does for barman's repr() output", () => {
    expect(parsePythonLiteral("'it\\'s'")).toBe("it's");
    expect(parsePythonLiteral('"it\'s \\"q\\""')).toBe('it\'s "q"');
    expect(parsePythonLiteral("'\\x01\\t\\\\ \\u00e9\\U0001F600 é'")).toBe('\x01\t\\ \u00e9\u{1F600} é');
    expect(parsePythonLiteral("u'py2'")).toBe('py2');
    expect(parsePythonLiteral("[('a', 1, '/x'), ('b', -2, \"/y\")]")).toEqual([
      ['a', 1, '/x'],
      ['b', -2, '/y'],
    ]);
    expect(parsePythonLiteral("{'t': 1.5e-05, 'n': None, 'ok': True, 3: []}")).toEqual({
      t: 1.5e-5,
      n: null,
      ok: true,
      '3': [],
    });
    expect(() => parsePythonLiteral("__import__('os')")).toThrow(/not a Python literal/);
    expect(() => parsePythonLiteral("'open")).toThrow(/unterminated/);
    // Every string pythonStr writes comes back unchanged.
    for (const s of ['plain', "it's", 'both \' and "', 'a\nb\\c\t\x01\x7f', 'ü€😀']) {
      expect(parsePythonLiteral(pythonStr(s))).toBe(s);
    }
  });

  it('reads times with offsets, microseconds, ISO T, and naive times as UTC', () => {
    expect(parsePythonDateTime('2026-11-26 12:32:23.163095+00:00')).toEqual(
      new Date('2026-11-26T12:32:23.163Z'),
    );
    expect(parsePythonDateTime('2026-11-26 14:32:23+02:00')).toEqual(new Date('2026-11-26T12:32:23Z'));
    expect(parsePythonDateTime('2026-11-26T07:02:23.5-05:30')).toEqual(new Date('2026-11-26T12:32:23.5Z'));
    expect(parsePythonDateTime('2026-11-26 12:32:23')).toEqual(new Date('2026-11-26T12:32:23Z'));
    expect(() => parsePythonDateTime('Thu Nov 26 12:32:23 2026')).toThrow(/not a date and time/);
  });
});
