/**
 * Retention carried out on real stores: on the file store, what remains is what barman's
 * recovery-window rules keep; on an S3-protocol server, pgherd leaves exactly the objects that
 * Debian's barman-cloud-backup-delete 3.4 leaves on an identical copy.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, type TestS3 } from '../../test/harness/s3.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { type BackupInfo, renderBackupInfo } from './backup-info.ts';
import { enforceRetentionPolicy, parseRetentionPolicy } from './retention.ts';
import { FileObjectStore } from './stores/file-store.ts';
import { S3ObjectStore } from './stores/s3-store.ts';
import { walKey } from './wal.ts';

const run = promisify(execFile);
const DAY = 24 * 3600 * 1000;
const BARMAN_DELETE = '/usr/bin/barman-cloud-backup-delete';
const haveBarman = existsSync(BARMAN_DELETE);
if (!haveBarman && process.env['CI'] === 'true') {
  throw new Error('barman-cli-cloud is not installed: scripts/setup.sh installs it for CI');
}

const seg = (tli: number, n: number): string =>
  `${tli.toString(16).toUpperCase().padStart(8, '0')}00000000${n.toString(16).toUpperCase().padStart(8, '0')}`;

interface Spec {
  ago: number;
  tli: number;
  at: number;
  failed?: boolean;
  keep?: 'standalone' | 'full';
  tablespace?: boolean;
}

/**
 * Seven backups over 40 days across a failover (timeline 1 -> 2): two obsolete ones, a
 * keep:standalone one between them, two FAILED ones, two inside or anchoring a 7-day window;
 * WAL of both timelines, gzip and plain, with .backup, .partial and .history files.
 */
const SPECS: Record<string, Spec> = {
  A: { ago: 40, tli: 1, at: 0x02 },
  A2: { ago: 35, tli: 1, at: 0x06, failed: true },
  K: { ago: 30, tli: 1, at: 0x08, keep: 'standalone' },
  B: { ago: 20, tli: 1, at: 0x10, tablespace: true },
  C: { ago: 10, tli: 2, at: 0x20 },
  D: { ago: 3, tli: 2, at: 0x30 },
  F: { ago: 1, tli: 2, at: 0x38, failed: true },
};

function idOf(now: Date, s: Spec): string {
  return new Date(now.getTime() - s.ago * DAY).toISOString().replace(/[-:]/g, '').slice(0, 15);
}

async function seed(store: ObjectStore, now: Date): Promise<void> {
  for (const s of Object.values(SPECS)) {
    const begin = new Date(now.getTime() - s.ago * DAY);
    const id = idOf(now, s);
    const info: BackupInfo = {
      backupLabel: s.failed ? null : `START WAL LOCATION: 0/${s.at}000028 (file ${seg(s.tli, s.at)})\n`,
      beginOffset: 40,
      beginTime: begin,
      beginWal: seg(s.tli, s.at),
      beginXlog: `0/${s.at.toString(16).toUpperCase()}000028`,
      configFile: '/pg/postgresql.conf',
      endOffset: s.failed ? null : 256,
      endTime: s.failed ? null : new Date(begin.getTime() + 600_000),
      endWal: s.failed ? null : seg(s.tli, s.at + 1),
      endXlog: s.failed ? null : `0/${(s.at + 1).toString(16).toUpperCase()}000100`,
      error: s.failed ? 'failure uploading data (boom)' : null,
      hbaFile: '/pg/pg_hba.conf',
      identFile: '/pg/pg_ident.conf',
      includedFiles: null,
      pgdata: '/pg',
      status: s.failed ? 'FAILED' : 'DONE',
      systemid: '7712457031645793329',
      tablespaces: s.tablespace ? [{ name: 'ts1', oid: 16385, location: '/ts1' }] : null,
      timeline: s.tli,
      version: 150018,
      xlogSegmentSize: 16777216,
    };
    await store.put(`srv/base/${id}/backup.info`, Buffer.from(renderBackupInfo(info)));
    if (!s.failed) await store.put(`srv/base/${id}/data.tar.gz`, Buffer.from('tar'));
    if (s.tablespace) await store.put(`srv/base/${id}/16385.tar.gz`, Buffer.from('tar'));
    if (s.keep !== undefined) await store.put(`srv/base/${id}/annotations/keep`, Buffer.from(s.keep));
    await store.put(`${walKey('srv', `${seg(s.tli, s.at)}.00000028.backup`)}.gz`, Buffer.from('b'));
  }
  for (let n = 0x01; n <= 0x1a; n++) await store.put(`${walKey('srv', seg(1, n))}.gz`, Buffer.from('w'));
  await store.put(walKey('srv', `${seg(1, 0x1a)}.partial`), Buffer.from('p'));
  await store.put(
    walKey('srv', '00000002.history'),
    Buffer.from('1\t0/1A000000\tno recovery target specified\n'),
  );
  for (let n = 0x1a; n <= 0x3a; n++)
    await store.put(walKey('srv', seg(2, n)) + (n % 2 ? '.gz' : ''), Buffer.from('w'));
}

async function keys(store: ObjectStore): Promise<string[]> {
  return (await store.list('srv/')).map((o) => o.key);
}

describe('retention on the file store', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync('/tmp/pgherd-retention-');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('deletes the obsolete backups (data, then backup.info) and the WAL no kept backup needs', async () => {
    mkdirSync(join(tmp, 'store'));
    const store = new FileObjectStore(join(tmp, 'store'));
    const now = new Date();
    await seed(store, now);
    const before = await keys(store);
    const plan = await enforceRetentionPolicy(store, 'srv', parseRetentionPolicy('7d'), now);
    const id = (name: string): string => idOf(now, SPECS[name]!);
    expect(plan.deletions.map((d) => d.backupId)).toEqual([id('A'), id('B')]);
    const after = new Set(await keys(store));
    const gone = before.filter((k) => !after.has(k));
    const wal = (tli: number, from: number, to: number): string[] => {
      const out: string[] = [];
      for (let n = from; n <= to; n++)
        out.push(walKey('srv', seg(tli, n)) + (tli === 1 || n % 2 ? '.gz' : ''));
      return out;
    };
    expect(gone.sort()).toEqual(
      [
        `srv/base/${id('A')}/backup.info`,
        `srv/base/${id('A')}/data.tar.gz`,
        `srv/base/${id('B')}/backup.info`,
        `srv/base/${id('B')}/data.tar.gz`,
        `srv/base/${id('B')}/16385.tar.gz`,
        // A goes: timeline 1 up to the next backup (K, keep:standalone) begins.
        ...wal(1, 0x01, 0x07),
        `${walKey('srv', `${seg(1, 0x02)}.00000028.backup`)}.gz`,
        `${walKey('srv', `${seg(1, 0x06)}.00000028.backup`)}.gz`,
        // B goes: timeline 2 up to C; timeline 1 stays, K and the FAILED A2 are on it.
        ...wal(2, 0x1a, 0x1f),
      ].sort(),
    );
    // Everything a kept backup needs is still there: K's own WAL, C's and D's from their start.
    for (const k of [...wal(1, 0x08, 0x09), ...wal(2, 0x20, 0x3a), 'srv/wals/00000002.history']) {
      expect(after.has(k)).toBe(true);
    }
    // Run again: nothing more to do.
    const again = await enforceRetentionPolicy(store, 'srv', parseRetentionPolicy('7d'), now);
    expect(again.deletions).toEqual([]);
  });
});

describe.runIf(haveBarman)('retention against barman-cloud-backup-delete 3.4', () => {
  let tmp: string;
  let s3: TestS3;
  beforeAll(async () => {
    tmp = mkdtempSync('/tmp/pgherd-retention-s3-');
    s3 = await startS3(join(tmp, 's3'), ['retention']);
  });
  afterAll(async () => {
    await s3.close();
    rmSync(tmp, { recursive: true, force: true });
  });
  const store = (prefix: string): S3ObjectStore =>
    new S3ObjectStore({ bucket: 'retention', prefix, endpoint: s3.endpoint, credentials: s3.credentials });

  it.each([
    ['7d', 2],
    ['2w', 1],
    ['3w', 1],
    ['1m', 0],
  ] as const)(
    'leaves the same objects as barman for retentionPolicy %s (%i backups deleted)',
    async (policyText, deleted) => {
      const now = new Date();
      const policy = parseRetentionPolicy(policyText);
      const byBarman = store(`barman-${policyText}`);
      const byPgherd = store(`pgherd-${policyText}`);
      await seed(byBarman, now);
      await seed(byPgherd, now);
      // Asynchronously: s3rver answers from this very process.
      const r = await run(
        BARMAN_DELETE,
        ['--endpoint-url', s3.endpoint, '-r', policy.barman, `s3://retention/barman-${policyText}`, 'srv'],
        {
          env: {
            PATH: '/usr/bin:/bin',
            AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
            AWS_DEFAULT_REGION: 'us-east-1',
          },
        },
      );
      expect(r.stderr).toBe('');
      const plan = await enforceRetentionPolicy(byPgherd, 'srv', policy, now);
      const left = await keys(byPgherd);
      expect(left).toEqual(await keys(byBarman));
      expect(plan.deletions).toHaveLength(deleted);
    },
  );
});
