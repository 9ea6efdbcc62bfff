import { describe, expect, it } from 'vitest';
import {
  type BackupInfo,
  parseBackupInfoFields,
  pythonStr,
  pythonUtc,
  renderBackupInfo,
} from './backup-info.ts';

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
