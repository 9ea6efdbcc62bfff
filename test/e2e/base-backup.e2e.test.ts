/**
 * A base backup pgherd takes (barman-cloud's layout, to a real S3-protocol server) restores
 * with Debian's barman-cloud-restore and barman-cloud-wal-restore into a PostgreSQL that starts
 * and has the data.
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupIdFor, takeBaseBackup } from '../../src/backup/base-backup.ts';
import { S3ObjectStore } from '../../src/backup/stores/s3-store.ts';
import { appClient, createHome, destroyHome, eventually, pgherdOk } from '../harness/home.ts';
import { connectInstance } from '../harness/instances.ts';
import { startS3, type TestS3 } from '../harness/s3.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);
const haveBarman = existsSync('/usr/bin/barman-cloud-restore');
if (!haveBarman && process.env['CI'] === 'true') {
  throw new Error('barman-cli-cloud is not installed: scripts/setup.sh installs it for CI');
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.runIf(haveBarman && process.getuid?.() === 0)('base backup restored by barman-cloud', () => {
  let home: string;
  let s3: TestS3;
  let scratch: string;
  let restored: ReturnType<typeof spawn> | undefined;
  beforeAll(async () => {
    home = createHome();
    scratch = mkdtempSync('/tmp/pgherd-bkrestore-');
    s3 = await startS3(join(scratch, 's3'), ['pgbackups']);
    writeFileSync(
      join(home, 'bk.yaml'),
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: bk\nspec:\n  instances: 1\n  storage:\n    size: 1Gi\n',
    );
    await pgherdOk(home, ['up', '-f', join(home, 'bk.yaml')]);
  });
  afterAll(async () => {
    if (restored?.pid !== undefined && restored.exitCode === null) {
      const exited = new Promise((r) => restored?.once('exit', r));
      process.kill(restored.pid, 'SIGQUIT');
      await exited;
    }
    await destroyHome(home);
    await s3.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('restores with barman-cloud-restore; PostgreSQL starts, replays the archived WAL and has the rows', async () => {
    const app = await appClient(home, 'bk', 'bk-rw');
    await app.query('CREATE TABLE kept AS SELECT g AS id FROM generate_series(1, 5000) g');
    await app.end();
    const store = new S3ObjectStore({
      bucket: 'pgbackups',
      prefix: 'bk',
      endpoint: s3.endpoint,
      credentials: s3.credentials,
    });
    const client = await connectInstance(join(home, 'clusters/default/bk/bk-1'));
    const backupId = backupIdFor(new Date());
    const info = await takeBaseBackup({
      store,
      serverName: 'bk',
      backupId,
      client,
      compression: 'gzip',
      walCompression: 'gzip',
      immediateCheckpoint: true,
    });
    await client.end();
    expect(info.status).toBe('DONE');
    const env = {
      PATH: '/usr/bin:/bin',
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
    };
    const dest = join(scratch, 'restored');
    // Asynchronously: s3rver answers from this very process.
    const r = await run(
      '/usr/bin/barman-cloud-restore',
      ['--endpoint-url', s3.endpoint, 's3://pgbackups/bk', 'bk', backupId, dest],
      { env },
    );
    expect(r.stderr + r.stdout).toBe('');
    writeFileSync(join(dest, 'recovery.signal'), '');
    spawnSync('chown', ['-R', 'postgres:postgres', scratch]);
    spawnSync('chmod', ['0700', dest]);
    const port = await freePort();
    const logFd = openSync(join(scratch, 'postgres.log'), 'a');
    const restore = `env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER /usr/bin/barman-cloud-wal-restore --endpoint-url ${s3.endpoint} s3://pgbackups/bk bk %f %p`;
    // PostgreSQL runs as its own account (we are root); the child is the postmaster itself, so
    // afterAll can stop exactly it.
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    restored = spawn(
      `${BIN}/postgres`,
      [
        '-D',
        dest,
        '-p',
        String(port),
        '-c',
        `unix_socket_directories=${scratch}`,
        '-c',
        'listen_addresses=',
        '-c',
        'ssl=off',
        '-c',
        'logging_collector=off',
        '-c',
        'log_destination=stderr',
        '-c',
        'archive_mode=off',
        '-c',
        `restore_command=${restore}`,
        '-c',
        'synchronous_standby_names=',
      ],
      { stdio: ['ignore', logFd, logFd], uid, gid, cwd: '/' },
    );
    const rows = await eventually(
      'the restored server to finish recovery and answer',
      async () => {
        const c = new pg.Client({ host: scratch, port, user: 'postgres', database: 'app' });
        c.on('error', () => {});
        try {
          await c.connect();
          const rec = await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
          if (rec.rows[0]!.r) return undefined;
          return (await c.query<{ n: string }>('SELECT count(*) AS n FROM kept')).rows[0]!.n;
        } catch {
          return undefined;
        } finally {
          await c.end().catch(() => {});
        }
      },
      90_000,
    ).catch((err: unknown) => {
      throw new Error(
        `${(err as Error).message}; postgres said: ${readFileSync(join(scratch, 'postgres.log'), 'utf8').slice(-3000)}`,
      );
    });
    expect(rows).toBe('5000');
  });
});
