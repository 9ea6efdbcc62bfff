/**
 * Base backups of a real PostgreSQL 15 into the file store: an lz4 backup (data.tar.lz4 plus lz4
 * WAL) restored with nothing but the lz4 CLI and tar, replaying WAL archived after it; a backup
 * that fails leaves backup.info FAILED with no end, which no restore picks. PostgreSQL runs as
 * the `postgres` OS user when the test runs as root, reachable only on its unix socket with
 * peer authentication.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBackupInfo } from './backup-info.ts';
import { backupIdFor, takeBaseBackup } from './base-backup.ts';
import { chooseBackupForTarget, listBackups, walSegmentsIn } from './catalog.ts';
import { FileObjectStore } from './stores/file-store.ts';
import { MemoryObjectStore } from './stores/memory-store.ts';
import { archiveWal, walRange } from './wal.ts';

const BIN = process.env['PGHERD_PG_BINDIR'] ?? '/usr/lib/postgresql/15/bin';
const LZ4 = '/usr/bin/lz4';
const asRoot = process.getuid?.() === 0;
const ready = existsSync(join(BIN, 'initdb')) && existsSync(LZ4);
if (!ready && process.env['CI'] === 'true') throw new Error(`PostgreSQL 15 (${BIN}) or lz4 is not installed`);

const osUser = asRoot
  ? {
      uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
      name: 'postgres',
    }
  : {
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      name: execFileSync('id', ['-un']).toString().trim(),
    };
const me = execFileSync('id', ['-un']).toString().trim();

function own(path: string): void {
  if (asRoot) spawnSync('chown', ['-R', `${osUser.uid}:${osUser.gid}`, path]);
}

function runPg(program: string, args: string[]): string {
  const r = spawnSync(join(BIN, program), args, {
    env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
    encoding: 'utf8',
    timeout: 90_000,
    cwd: '/',
    ...(asRoot ? { uid: osUser.uid, gid: osUser.gid } : {}),
  });
  if (r.status !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** initdb with peer authentication on the unix socket only (our OS user maps to postgres). */
function createServer(dir: string, port: number, socketDir: string): void {
  own(dir);
  runPg('initdb', ['-D', dir, '-U', 'postgres', '--auth-local=peer', '--auth-host=reject', '-E', 'UTF8']);
  writeFileSync(join(dir, 'pg_hba.conf'), 'local all all peer map=local\n');
  writeFileSync(join(dir, 'pg_ident.conf'), `local ${me} postgres\nlocal ${osUser.name} postgres\n`);
  writeFileSync(
    join(dir, 'postgresql.auto.conf'),
    `port = ${port}\nlisten_addresses = ''\nunix_socket_directories = '${socketDir}'\nwal_level = replica\n`,
  );
  own(dir);
}

function stop(dir: string): void {
  if (!existsSync(join(dir, 'postmaster.pid'))) return;
  try {
    runPg('pg_ctl', ['stop', '-D', dir, '-m', 'immediate', '-w', '-t', '30']);
  } catch {
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGQUIT');
  }
}

async function connect(socketDir: string, port: number): Promise<pg.Client> {
  const c = new pg.Client({ host: socketDir, port, user: 'postgres', database: 'postgres' });
  await c.connect();
  return c;
}

const PORT = 54000 + (process.pid % 900);

describe.runIf(ready)('base backups of a real PostgreSQL', () => {
  let root: string;
  let client: pg.Client;
  beforeAll(async () => {
    root = mkdtempSync('/tmp/pgherd-bb-');
    chmodSync(root, 0o711);
    for (const d of ['data', 'run', 'restored', 'store']) mkdirSync(join(root, d), { mode: 0o700 });
    own(join(root, 'run'));
    createServer(join(root, 'data'), PORT, join(root, 'run'));
    runPg('pg_ctl', [
      'start',
      '-D',
      join(root, 'data'),
      '-w',
      '-t',
      '60',
      '-l',
      join(root, 'run', 'primary.log'),
    ]);
    client = await connect(join(root, 'run'), PORT);
  });
  afterAll(async () => {
    await client?.end().catch(() => {});
    stop(join(root, 'restored'));
    stop(join(root, 'data'));
    rmSync(root, { recursive: true, force: true });
  });

  it('an lz4 backup and lz4 WAL restore with the lz4 CLI and tar; PostgreSQL replays to the last row', async () => {
    const store = new FileObjectStore(join(root, 'store'));
    await client.query('CREATE TABLE kept AS SELECT g AS id FROM generate_series(1, 5000) g');
    const backupId = backupIdFor(new Date());
    const info = await takeBaseBackup({
      store,
      serverName: 'srv',
      backupId,
      client,
      compression: 'lz4',
      walCompression: 'lz4',
      immediateCheckpoint: true,
    });
    expect(info.status).toBe('DONE');
    const objects = (await store.list(`srv/base/${backupId}/`)).map((o) => o.key);
    expect(objects).toEqual([`srv/base/${backupId}/backup.info`, `srv/base/${backupId}/data.tar.lz4`]);
    const written = parseBackupInfo(
      readFileSync(join(root, 'store', 'srv/base', backupId, 'backup.info'), 'utf8'),
    );
    expect(written).toMatchObject({ status: 'DONE', compression: null, endWal: info.endWal, timeline: 1 });
    const list = await listBackups(store, 'srv');
    expect(chooseBackupForTarget(list, {}).backup?.backupId).toBe(backupId);

    // Rows after the backup, in WAL that an archiver (here: archiveWal) sends with lz4.
    await client.query('INSERT INTO kept SELECT g FROM generate_series(5001, 6000) g');
    const last = (await client.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!
      .f;
    for (const wal of walRange(info.endWal, last, info.xlogSegmentSize)) {
      await archiveWal(store, 'srv', join(root, 'data', 'pg_wal', wal), wal, 'lz4');
    }
    expect((await walSegmentsIn(store, 'srv')).every((w) => w.compression === 'lz4')).toBe(true);

    // Restore by hand: the tar through `lz4 -dc`, WAL through a restore_command using lz4.
    const dest = join(root, 'restored');
    const tarOut = spawnSync('/bin/sh', [
      '-c',
      `${LZ4} -dc '${join(root, 'store', 'srv/base', backupId, 'data.tar.lz4')}' | tar -xf - -C '${dest}'`,
    ]);
    expect(tarOut.status, tarOut.stderr.toString()).toBe(0);
    expect(readFileSync(join(dest, 'backup_label'), 'utf8')).toBe(info.backupLabel);
    const script = join(root, 'restore.sh');
    writeFileSync(
      script,
      `#!/bin/sh\ncase "$1" in *.history) k="$1" ;; *) k="$(echo "$1" | cut -c1-16)/$1" ;; esac\nf='${root}/store/srv/wals/'"$k".lz4\n[ -f "$f" ] || exit 1\nexec ${LZ4} -dc -q "$f" > "$2"\n`,
      { mode: 0o755 },
    );
    writeFileSync(
      join(dest, 'postgresql.auto.conf'),
      `port = ${PORT + 1}\nlisten_addresses = ''\nunix_socket_directories = '${join(root, 'run')}'\nrestore_command = '${script} %f %p'\narchive_mode = off\n`,
    );
    writeFileSync(join(dest, 'recovery.signal'), '');
    own(dest);
    own(join(root, 'store'));
    chmodSync(dest, 0o700);
    runPg('pg_ctl', ['start', '-D', dest, '-w', '-t', '90', '-l', join(root, 'run', 'restored.log')]);
    const restored = await connect(join(root, 'run'), PORT + 1);
    try {
      let inRecovery = true;
      for (let i = 0; i < 300 && inRecovery; i++) {
        inRecovery = (await restored.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r;
        if (inRecovery) await new Promise((r) => setTimeout(r, 100));
      }
      expect(inRecovery).toBe(false);
      expect((await restored.query<{ n: string }>('SELECT count(*) AS n FROM kept')).rows[0]!.n).toBe('6000');
    } finally {
      await restored.end();
    }
  });

  it('leaves the WAL to the archiver with walArchived, and names an uncompressed tar data.tar', async () => {
    const store = new FileObjectStore(join(root, 'store'));
    const before = (await walSegmentsIn(store, 'srv2')).length;
    const backupId = backupIdFor(new Date(Date.now() + 1000));
    await takeBaseBackup({
      store,
      serverName: 'srv2',
      backupId,
      client,
      compression: 'none',
      walCompression: 'gzip',
      immediateCheckpoint: true,
      walArchived: true,
    });
    expect((await walSegmentsIn(store, 'srv2')).length).toBe(before);
    expect(await store.head(`srv2/base/${backupId}/data.tar`)).toBeDefined();
  });

  it('a backup that fails writes backup.info FAILED without an end, and no restore picks it', async () => {
    class FailingStore extends MemoryObjectStore {
      override async put(key: string, body: Buffer | Readable): Promise<void> {
        if (key.endsWith('.tar.gz')) {
          (body as Readable).resume();
          throw new Error('disk full');
        }
        return super.put(key, body);
      }
    }
    const store = new FailingStore();
    const backupId = backupIdFor(new Date(Date.now() + 2000));
    await expect(
      takeBaseBackup({
        store,
        serverName: 'srv',
        backupId,
        client,
        compression: 'gzip',
        walCompression: 'gzip',
        immediateCheckpoint: true,
      }),
    ).rejects.toThrow(/disk full/);
    const info = parseBackupInfo(store.objects.get(`srv/base/${backupId}/backup.info`)!.toString());
    expect(info).toMatchObject({
      status: 'FAILED',
      error: 'failure taking the backup (disk full)',
      endTime: null,
      endWal: null,
      endXlog: null,
    });
    expect(chooseBackupForTarget(await listBackups(store, 'srv'), {}).backup).toBeUndefined();
    // The session is usable again: the failed backup was stopped.
    expect((await client.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
  });

  it('fails the whole backup, without waiting forever, when one of two parallel parts cannot be stored', async () => {
    class SecondPartFails extends MemoryObjectStore {
      override async put(key: string, body: Buffer | Readable): Promise<void> {
        if (key.endsWith('data_0001.tar.lz4')) {
          // Reads a little, then the store goes away in the middle of the upload.
          for await (const _ of body as Readable) break;
          throw new Error('connection reset by the store');
        }
        return super.put(key, body);
      }
    }
    const store = new SecondPartFails();
    const backupId = backupIdFor(new Date(Date.now() + 3000));
    await expect(
      takeBaseBackup({
        store,
        serverName: 'srv3',
        backupId,
        client,
        compression: 'lz4',
        walCompression: 'lz4',
        immediateCheckpoint: true,
        jobs: 2,
      }),
    ).rejects.toThrow(/connection reset by the store/);
    const info = parseBackupInfo(store.objects.get(`srv3/base/${backupId}/backup.info`)!.toString());
    expect(info).toMatchObject({ status: 'FAILED', endWal: null });
    expect(store.objects.has(`srv3/base/${backupId}/data_0001.tar.lz4`)).toBe(false);
    expect((await client.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
  });
});
