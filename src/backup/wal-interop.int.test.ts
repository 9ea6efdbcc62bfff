/**
 * WAL interoperability with Debian's barman-cloud (barman-cli-cloud 3.4): what pgherd archives
 * barman-cloud-wal-restore restores, and what barman-cloud-wal-archive archives pgherd
 * restores, byte for byte, through a real S3-protocol server.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, type TestS3 } from '../../test/harness/s3.ts';
import { S3ObjectStore } from './stores/s3-store.ts';
import { archiveWal, restoreWal } from './wal.ts';

const run = promisify(execFile);
const BARMAN = '/usr/bin/barman-cloud-wal-archive';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// CI installs barman-cli-cloud (scripts/setup.sh); elsewhere the test says why it is skipped.
const haveBarman = existsSync(BARMAN);
if (!haveBarman && process.env['CI'] === 'true') {
  throw new Error('barman-cli-cloud is not installed: scripts/setup.sh installs it for CI');
}

describe.runIf(haveBarman)('WAL interoperability with barman-cloud 3.4', () => {
  let tmp: string;
  let s3: TestS3;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    tmp = mkdtempSync('/tmp/pgherd-walinterop-');
    s3 = await startS3(join(tmp, 's3'), ['walbucket']);
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
  const store = (): S3ObjectStore =>
    new S3ObjectStore({
      bucket: 'walbucket',
      prefix: 'dest',
      endpoint: s3.endpoint,
      credentials: s3.credentials,
    });

  it('a segment pgherd archives with gzip restores with barman-cloud-wal-restore', async () => {
    const name = '000000010000000000000003';
    const segment = randomBytes(16 * 1024 * 1024);
    writeFileSync(join(tmp, name), segment);
    const r = await archiveWal(store(), 'srv', join(tmp, name), name, 'gzip');
    expect(r.key).toBe('srv/wals/0000000100000000/000000010000000000000003.gz');
    const out = join(tmp, 'restored-by-barman');
    await run(
      '/usr/bin/barman-cloud-wal-restore',
      ['--endpoint-url', s3.endpoint, 's3://walbucket/dest', 'srv', name, out],
      { env },
    );
    expect(sha(readFileSync(out))).toBe(sha(segment));
  });

  it('a segment and a history file barman-cloud-wal-archive wrote restore with pgherd', async () => {
    const name = '000000010000000000000004';
    const segment = randomBytes(16 * 1024 * 1024);
    writeFileSync(join(tmp, name), segment);
    writeFileSync(join(tmp, '00000002.history'), '1\t0/5000000\tno recovery target specified\n');
    for (const f of [name, '00000002.history']) {
      await run(
        BARMAN,
        ['--gzip', '--endpoint-url', s3.endpoint, 's3://walbucket/dest', 'srv2', join(tmp, f)],
        {
          env,
        },
      );
    }
    const out = join(tmp, 'restored-by-pgherd');
    expect(await restoreWal(store(), 'srv2', name, out)).toBe(true);
    expect(sha(readFileSync(out))).toBe(sha(segment));
    expect(await restoreWal(store(), 'srv2', '00000002.history', join(tmp, 'h'))).toBe(true);
    expect(readFileSync(join(tmp, 'h'), 'utf8')).toContain('no recovery target specified');
    expect(await restoreWal(store(), 'srv2', '000000010000000000000005', join(tmp, 'none'))).toBe(false);
  });
});
