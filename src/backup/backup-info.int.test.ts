/** backup.info written by pgherd is read by barman 3.4's own parser, field for field. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderBackupInfo } from './backup-info.ts';

const run = promisify(execFile);
const haveBarman = existsSync('/usr/lib/python3/dist-packages/barman/infofile.py');
if (!haveBarman && process.env['CI'] === 'true') {
  throw new Error('barman-cli-cloud is not installed: scripts/setup.sh installs it for CI');
}

const READER = `
import sys, json
from barman.infofile import BackupInfo
b = BackupInfo(backup_id='20261126T120000')
b.load(filename=sys.argv[1])
d = b.to_dict()
print(json.dumps({
  'label': b.backup_label, 'tablespaces': [list(t) for t in (b.tablespaces or [])],
  'begin_time': b.begin_time.isoformat(), 'end_time': b.end_time.isoformat(),
  'status': b.status, 'timeline': b.timeline, 'version': b.version, 'systemid': b.systemid,
  'begin_wal': b.begin_wal, 'end_xlog': b.end_xlog, 'xlog_segment_size': b.xlog_segment_size,
  'backup_name': d.get('backup_name'),
}))
`;

describe.runIf(haveBarman)("barman 3.4 reads pgherd's backup.info", () => {
  it('parses every field, the label with its quotes and line breaks, and the tablespaces', async () => {
    const dir = mkdtempSync('/tmp/pgherd-backupinfo-');
    try {
      const label = 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nLABEL: it\'s "quoted"\n';
      writeFileSync(
        join(dir, 'backup.info'),
        renderBackupInfo({
          backupLabel: label,
          backupName: 'nightly',
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
          includedFiles: ['/x/extra.conf'],
          pgdata: '/x',
          status: 'DONE',
          systemid: '7712409689682139364',
          tablespaces: [{ name: 'fast', oid: 16385, location: '/ssd/fast' }],
          timeline: 2,
          version: 150018,
          xlogSegmentSize: 16777216,
        }),
      );
      writeFileSync(join(dir, 'read.py'), READER);
      const { stdout } = await run('/usr/bin/python3', [join(dir, 'read.py'), join(dir, 'backup.info')]);
      expect(JSON.parse(stdout)).toEqual({
        label,
        tablespaces: [['fast', 16385, '/ssd/fast']],
        begin_time: '2026-11-26T12:00:00.123000+00:00',
        end_time: '2026-11-26T12:00:05+00:00',
        status: 'DONE',
        timeline: 2,
        version: 150018,
        systemid: '7712409689682139364',
        begin_wal: '000000010000000000000002',
        end_xlog: '0/2000138',
        xlog_segment_size: 16777216,
        backup_name: 'nightly',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
