/**
 * Restoring a base backup from barman-cloud's layout into an empty PGDATA (what
 * barman-cloud-restore does): the data tar (whatever compression pgherd reads) is streamed,
 * decompressed and unpacked, with the folders barman leaves out recreated empty. Works for
 * backups pgherd took and for backups barman-cloud-backup took.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, symlink } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type tar from 'tar-stream';
import type { ObjectStore } from '../ports/object-store.ts';
import { getBuffer } from '../ports/object-store.ts';
import { type BackupInfo, parseBackupInfo } from './backup-info.ts';
import { type Compression, createDecompressor, isReadableCompression, parseTarName } from './compression.ts';
import { joinKey } from './stores/destination.ts';

/** GNU tar, when the machine has it (Debian always does). */
const GNU_TAR = ['/usr/bin/tar', '/bin/tar'].find((p) => existsSync(p));

/** Parts of a split backup restored at the same time. */
const MAX_PARALLEL_PARTS = 4;

/** Folders of PGDATA whose contents barman does not back up, but which must exist. */
const EMPTY_FOLDERS = [
  'pg_wal',
  'pg_wal/archive_status',
  'pg_dynshmem',
  'pg_notify',
  'pg_replslot',
  'pg_serial',
  'pg_stat_tmp',
  'pg_snapshots',
  'pg_subtrans',
];

export interface RestoreInput {
  store: ObjectStore;
  serverName: string;
  backupId: string;
  /** An empty (or missing) folder. */
  pgdata: string;
  /** Bytes of the tar read so far (compressed, as stored). */
  onProgress?: (bytes: number, total: number) => void;
  signal?: AbortSignal;
}

/** Reads a backup's backup.info; throws a clear error when it does not exist. */
export async function readBackupInfo(
  store: ObjectStore,
  serverName: string,
  backupId: string,
): Promise<BackupInfo> {
  const key = joinKey(serverName, 'base', backupId, 'backup.info');
  try {
    return parseBackupInfo((await getBuffer(store, key)).toString('utf8'));
  } catch (err) {
    if ((err as { code?: string }).code === 'not-found') {
      throw new Error(
        `PGHERD_RECOVERY_NO_BACKUP: backup ${backupId} is not in ${store.location}/${serverName}/base`,
      );
    }
    throw err;
  }
}

/** Restores the data of one backup into `pgdata`. Tablespaces are not supported (refused). */
export async function restoreBaseBackup(input: RestoreInput): Promise<BackupInfo> {
  const { store, serverName, backupId } = input;
  const info = await readBackupInfo(store, serverName, backupId);
  if (info.status !== 'DONE') {
    throw new Error(
      `PGHERD_RECOVERY_BACKUP_NOT_DONE: backup ${backupId} has status ${info.status}; choose a completed one`,
    );
  }
  if (info.tablespaces !== null && info.tablespaces !== undefined && info.tablespaces.length > 0) {
    throw new Error(
      `PGHERD_RECOVERY_TABLESPACES: backup ${backupId} has tablespaces, which pgherd does not restore yet`,
    );
  }
  const prefix = joinKey(serverName, 'base', backupId);
  const objects = await store.list(`${prefix}/`);
  const parts = objects
    .map((o) => ({ o, t: parseTarName(o.key.slice(prefix.length + 1)) }))
    .filter(
      (x): x is { o: (typeof objects)[number]; t: NonNullable<typeof x.t> } =>
        x.t !== undefined && x.t.base === 'data',
    )
    .sort((a, b) => a.t.part - b.t.part);
  if (parts.length === 0)
    throw new Error(
      `PGHERD_RECOVERY_NO_DATA: backup ${backupId} has no data tar in ${store.location}/${prefix}`,
    );
  const total = parts.reduce((n, p) => n + p.o.size, 0);
  await mkdir(input.pgdata, { recursive: true, mode: 0o700 });
  let read = 0;
  for (const { o, t } of parts) {
    if (!isReadableCompression(t.compression)) {
      throw new Error(
        `PGHERD_RECOVERY_COMPRESSION: ${o.key} is compressed with ${t.compression}, which pgherd does not read (it reads gzip, lz4 and none)`,
      );
    }
  }
  // The parts of a split backup hold different files: they are restored at the same time.
  const restorePart = async ({ o, t }: (typeof parts)[number]): Promise<void> => {
    const compression = t.compression as Compression;
    const body = await store.get(o.key);
    body.on('data', (chunk: Buffer) => {
      read += chunk.length;
      input.onProgress?.(read, total);
    });
    const signal = input.signal ? [{ signal: input.signal }] : [];
    if (GNU_TAR !== undefined) {
      // GNU tar unpacks in C, a few times faster than a tar parser in JavaScript; it refuses
      // members with "..", strips a leading "/", and (as root) keeps our ownership.
      // Decompression stays here (node:zlib inflates several times faster than GNU gzip, in
      // libuv's threads), tar only unpacks.
      const args = ['-x', '-f', '-', '-C', input.pgdata, '--no-same-owner'];
      const child = spawn(GNU_TAR, args, {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (c: string) => {
        stderr += c;
      });
      const exited = new Promise<number>((ok) => child.once('close', (code) => ok(code ?? 1)));
      try {
        await pipeline(body, createDecompressor(compression), child.stdin, ...(signal as []));
      } catch (err) {
        child.kill('SIGKILL');
        await exited;
        throw err;
      }
      const code = await exited;
      if (code !== 0)
        throw new Error(`unpacking ${o.key} failed (tar exited ${code}): ${stderr.trim().slice(0, 300)}`);
      return;
    }
    // tar-stream only where GNU tar is missing (it costs ~30 ms to load at every start).
    const extract = (await import('tar-stream')).default.extract();
    extract.on('entry', (header, stream, next) => {
      void writeEntry(input.pgdata, header, stream).then(
        () => next(),
        (err: unknown) => next(err as Error),
      );
    });
    await pipeline(body, createDecompressor(compression), extract, ...(signal as []));
  };
  const queue = [...parts];
  await Promise.all(
    Array.from({ length: Math.min(MAX_PARALLEL_PARTS, parts.length) }, async () => {
      for (let p = queue.shift(); p !== undefined; p = queue.shift()) await restorePart(p);
    }),
  );
  for (const f of EMPTY_FOLDERS) await mkdir(join(input.pgdata, f), { recursive: true, mode: 0o700 });
  await chmod(input.pgdata, 0o700);
  return info;
}

/** Writes one tar entry below `root`, refusing paths that would leave it. */
async function writeEntry(root: string, header: tar.Headers, stream: NodeJS.ReadableStream): Promise<void> {
  const rel = normalize(header.name)
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  if (rel === '' || rel === '.') {
    stream.resume();
    return;
  }
  if (rel.startsWith('..') || rel.startsWith('/')) {
    stream.resume();
    throw new Error(`the backup holds an entry outside the data directory: ${header.name}`);
  }
  const path = join(root, rel);
  const mode = (header.mode ?? 0o600) & 0o7777;
  switch (header.type) {
    case 'directory':
      await mkdir(path, { recursive: true, mode: mode | 0o700 });
      stream.resume();
      return;
    case 'symlink':
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      if (!existsSync(path)) await symlink(header.linkname ?? '', path);
      stream.resume();
      return;
    case 'file':
    case 'contiguous-file':
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await pipeline(
        stream as unknown as NodeJS.ReadableStream,
        createWriteStream(path, { mode, highWaterMark: 1 << 20 }),
      );
      return;
    default:
      stream.resume();
  }
}
