/**
 * A base backup in barman-cloud's layout (docs/research/barman-cloud-layout.md §2-3), taken as
 * barman-cloud-backup takes it: a concurrent backup over a database connection
 * (pg_backup_start / pg_backup_stop), PGDATA streamed as one tar into
 * `<server>/base/<backupId>/data.tar[.gz|.lz4]` with barman's exclusions, `backup_label` added
 * last, the WAL the backup needs archived, then `backup.info` written last of all. With gzip or
 * none the result restores with barman-cloud-restore; `data.tar.lz4` (barman has no lz4 tars)
 * only with pgherd, or by hand with `lz4 -dc data.tar.lz4 | tar x`.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type pg from 'pg';
import type { ObjectStore } from '../ports/object-store.ts';
import { formatLsn, parseLsn } from '../postgres/lsn.ts';
import { type BackupInfo, type DoneBackupInfo, isDoneBackup, renderBackupInfo } from './backup-info.ts';
import { type Compression, compressTarChunks, LZ4_FRAME_INPUT, tarName } from './compression.ts';
import { joinKey } from './stores/destination.ts';
import { packTar, type TarEntry } from './tar-pack.ts';
import { archiveWal, type WalCompression, walFileName, walRange } from './wal.ts';

export interface BaseBackupInput {
  store: ObjectStore;
  serverName: string;
  /** barman's id: the start time as YYYYMMDDTHHMMSS. */
  backupId: string;
  backupName?: string;
  /** A superuser connection to the instance being backed up (pg_backup_start needs its session). */
  client: pg.Client;
  /** The data tar's compression (barmanObjectStore.data.compression): data.tar, .tar.gz, .tar.lz4. */
  compression: Compression;
  walCompression: WalCompression;
  immediateCheckpoint: boolean;
  /**
   * PostgreSQL archives its WAL itself (archive_mode on, archive_command set): the backup does
   * not upload the WAL from begin_wal to end_wal, and the caller waits until end_wal is in the
   * archive before calling the backup usable. Without it the backup uploads that WAL itself.
   */
  walArchived?: boolean;
  /** Parallel tars (barman's split archives), each compressed and uploaded on its own. Default 1. */
  jobs?: number;
  /** Called once the files are known, with the bytes of PGDATA to send. */
  onStart?: (totalBytes: number) => void;
  /** Progress: bytes of PGDATA sent so far. */
  onProgress?: (bytes: number) => void;
}

/** barman's exclusions (postgres_plumbing.py): anchored at the root, or anywhere by name. */
const EXCLUDED_AT_ROOT = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'standby.signal',
  'recovery.signal',
  'recovery.conf',
  'backup_label',
  'tablespace_map',
]);
const CONTENTS_EXCLUDED = new Set([
  'pg_wal',
  'pg_xlog',
  'pg_log',
  'log',
  'pg_dynshmem',
  'pg_notify',
  'pg_replslot',
  'pg_serial',
  'pg_stat_tmp',
  'pg_snapshots',
  'pg_subtrans',
]);
const EXCLUDED_ANYWHERE = (name: string): boolean =>
  name.startsWith('pgsql_tmp') ||
  name === 'pg_internal.init' ||
  name === 'postgresql.auto.conf.tmp' ||
  name === 'current_logfiles.tmp';

/** `YYYYMMDDTHHMMSS` in UTC (barman uses local time; the machine runs in UTC). */
export function backupIdFor(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').slice(0, 15);
}

/** The WAL file holding the byte just before `lsn` (PostgreSQL's XLByteToPrevSeg). */
export function walFileNameBefore(timeline: number, lsn: string, segmentSize: number): string {
  const pos = parseLsn(lsn);
  return walFileName(timeline, pos === 0n ? lsn : formatLsn(pos - 1n), segmentSize);
}

/** Frames compressing at once per part (with two parts, libuv's four threads). */
const TAR_IN_FLIGHT = 2;

/** A promise with its resolve and reject, whose rejection alone is never "unhandled". */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** One thing of PGDATA to put in a tar. */
interface Item {
  header: TarEntry;
  kind: 'directory' | 'symlink' | 'file';
  /** Absolute path of a file to read. */
  path?: string;
  size: number;
}

/** Walks PGDATA with barman's exclusions, parents before children, in name order. */
async function collect(root: string, rel: string, out: Item[]): Promise<Item[]> {
  const dir = rel === '' ? root : join(root, rel);
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const name of names) {
    const relPath = rel === '' ? name : `${rel}/${name}`;
    if (rel === '' && EXCLUDED_AT_ROOT.has(name)) continue;
    if (EXCLUDED_ANYWHERE(name)) continue;
    let st: import('node:fs').Stats;
    try {
      st = await lstat(join(root, relPath));
    } catch {
      continue; // gone meanwhile
    }
    const header = { name: relPath, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) {
      // pg_wal may be a link to the WAL folder: kept as an empty directory, as barman does.
      if (rel === '' && name === 'pg_wal') {
        out.push({ header: { ...header, type: 'directory', mode: 0o700 }, kind: 'directory', size: 0 });
        continue;
      }
      out.push({
        header: { ...header, type: 'symlink', linkname: await readlink(join(root, relPath)) },
        kind: 'symlink',
        size: 0,
      });
    } else if (st.isDirectory()) {
      out.push({ header: { ...header, type: 'directory' }, kind: 'directory', size: 0 });
      if (rel === '' && CONTENTS_EXCLUDED.has(name)) continue;
      await collect(root, relPath, out);
    } else if (st.isFile()) {
      out.push({
        header: { ...header, type: 'file', size: st.size, path: join(root, relPath) },
        kind: 'file',
        path: join(root, relPath),
        size: st.size,
      });
    }
  }
  return out;
}

/**
 * Splits PGDATA into `jobs` tars that are written (and later restored) in parallel, as
 * barman's split archives (`data.tar`, `data_0001.tar`, ...; each a complete tar of its own
 * files): folders and links in the first, files spread by size, largest first, to the part
 * with the fewest bytes so far; each part keeps path order.
 */
export function splitIntoParts<T extends { kind: string; size: number; header: { name: string } }>(
  items: readonly T[],
  jobs: number,
): T[][] {
  const files = items.filter((i) => i.kind === 'file');
  const n = Math.max(1, Math.min(jobs, files.length));
  const parts: T[][] = Array.from({ length: n }, () => []);
  const load = new Array<number>(n).fill(0);
  parts[0]!.push(...items.filter((i) => i.kind !== 'file'));
  for (const f of [...files].sort((a, b) => b.size - a.size)) {
    let k = 0;
    for (let x = 1; x < n; x++) if (load[x]! < load[k]!) k = x;
    parts[k]!.push(f);
    load[k]! += f.size + 512;
  }
  const order = new Map(items.map((it, idx) => [it, idx]));
  for (const p of parts) p.sort((a, b) => order.get(a)! - order.get(b)!);
  return parts;
}

/**
 * Takes the backup; returns its backup.info. On failure writes backup.info with status FAILED,
 * the error, and no end time, WAL or LSN (as barman-cloud-backup does), then throws.
 */
export async function takeBaseBackup(input: BaseBackupInput): Promise<DoneBackupInfo> {
  const { client, store, serverName, backupId } = input;
  const base = joinKey(serverName, 'base', backupId);
  const facts = (
    await client.query<{
      version: string;
      pgdata: string;
      config_file: string;
      hba_file: string;
      ident_file: string;
      seg: string;
      systemid: string;
    }>(`SELECT current_setting('server_version_num') AS version, current_setting('data_directory') AS pgdata,
      current_setting('config_file') AS config_file, current_setting('hba_file') AS hba_file,
      current_setting('ident_file') AS ident_file, current_setting('wal_segment_size') AS seg,
      (SELECT system_identifier::text FROM pg_control_system()) AS systemid`)
  ).rows[0]!;
  const segmentSize = Number(
    (
      await client.query<{ b: string }>(
        "SELECT setting::bigint * (CASE unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END) AS b FROM pg_settings WHERE name = 'wal_segment_size'",
      )
    ).rows[0]!.b,
  );
  const start = (
    await client.query<{ lsn: string; t: Date; tli: number }>(
      `SELECT pg_backup_start($1, $2)::text AS lsn, now() AS t, (SELECT timeline_id FROM pg_control_checkpoint()) AS tli`,
      [`Barman backup cloud ${backupId}`, input.immediateCheckpoint],
    )
  ).rows[0]!;
  const info: BackupInfo = {
    backupLabel: null,
    ...(input.backupName !== undefined ? { backupName: input.backupName } : {}),
    beginOffset: Number(parseLsn(start.lsn) % BigInt(segmentSize)),
    beginTime: start.t,
    beginWal: walFileName(start.tli, start.lsn, segmentSize),
    beginXlog: start.lsn,
    configFile: facts.config_file,
    endOffset: null,
    endTime: null,
    endWal: null,
    endXlog: null,
    error: null,
    hbaFile: facts.hba_file,
    identFile: facts.ident_file,
    includedFiles: null,
    pgdata: facts.pgdata,
    status: 'STARTED',
    systemid: facts.systemid,
    tablespaces: null,
    timeline: start.tli,
    version: Number(facts.version),
    xlogSegmentSize: segmentSize,
  };
  // Each part's tar is read into staging buffers and compressed by up to two frames at once.
  const pipelines: Readable[] = [];
  // Rejected when the backup failed: part 0 must not stop the backup after that (the catch did).
  const failed = deferred();
  let uploads: Array<Promise<void>> = [];
  try {
    const items = await collect(facts.pgdata, '', []);
    const parts = splitIntoParts(items, input.jobs ?? 1);
    input.onStart?.(items.reduce((n, it) => n + it.size, 0));
    let sent = 0;
    const onBytes = (n: number): void => {
      sent += n;
      input.onProgress?.(sent);
    };
    // Every part streams to the store at once; the first one ends last, with backup_label,
    // after pg_backup_stop, which waits until every other part's files are read.
    const read = parts.map(() => deferred());
    let stop: { lsn: string; labelfile: string; t: Date } | undefined;
    const entriesOf = async function* (k: number): AsyncGenerator<TarEntry> {
      for (const it of parts[k]!) yield it.header;
      read[k]!.resolve();
      if (k !== 0) return;
      await Promise.race([Promise.all(read.map((r) => r.promise)), failed.promise]);
      stop = (
        await client.query<{ lsn: string; labelfile: string; t: Date }>(
          'SELECT lsn::text AS lsn, labelfile, now() AS t FROM pg_backup_stop(false)',
        )
      ).rows[0]!;
      yield {
        name: 'backup_label',
        type: 'file',
        mode: 0o600,
        mtime: new Date(),
        body: Buffer.from(stop.labelfile),
      };
    };
    uploads = parts.map((_, k) => {
      const body = Readable.from(
        compressTarChunks(
          packTar(entriesOf(k), { chunkSize: LZ4_FRAME_INPUT, inFlight: TAR_IN_FLIGHT, onBytes }),
          input.compression,
          TAR_IN_FLIGHT,
        ),
        { objectMode: false },
      );
      // Its errors reach the store's put, which reads it; none may go unheard when it is destroyed.
      body.on('error', () => {});
      pipelines.push(body);
      // A part that fails also fails the wait for "every part read".
      return store.put(joinKey(base, tarName('data', input.compression, k)), body).catch((err: unknown) => {
        read[k]!.reject(err);
        throw err;
      });
    });
    await Promise.all(uploads);
    if (stop === undefined) throw new Error('the data tar ended before the backup was stopped');
    // The last byte the backup needs is just before the stop LSN (pg_walfile_name's rule): a
    // stop exactly at a segment boundary needs the previous segment, not the next, empty one,
    // which might not be archived for as long as archive_timeout.
    const endWal = walFileNameBefore(start.tli, stop.lsn, segmentSize);
    if (input.walArchived !== true) {
      // The WAL from the start to the end of the backup, so that it restores on its own.
      for (const wal of walRange(walFileName(start.tli, start.lsn, segmentSize), endWal, segmentSize)) {
        await archiveWal(store, serverName, join(facts.pgdata, 'pg_wal', wal), wal, input.walCompression);
      }
    }
    info.backupLabel = stop.labelfile;
    info.endXlog = stop.lsn;
    info.endTime = stop.t;
    info.endOffset = Number(parseLsn(stop.lsn) % BigInt(segmentSize));
    info.endWal = endWal;
    info.status = 'DONE';
    if (!isDoneBackup(info)) throw new Error('the backup finished without its begin and end positions');
    return info;
  } catch (err) {
    // barman-cloud-backup leaves the end unset when it fails before pg_backup_stop; pgherd
    // always does, because CNPG judges a backup by its times alone (catalog.go isBackupDone)
    // and must never pick a failed one for a restore.
    Object.assign(info, { status: 'FAILED', endTime: null, endWal: null, endXlog: null, endOffset: null });
    info.error = `failure taking the backup (${(err as Error).message.replace(/[\n\r]/g, ' ')})`;
    // No part may go on uploading (or wait for an end that never comes).
    failed.reject(err);
    for (const body of pipelines) body.destroy(err as Error);
    for (const upload of uploads) upload.catch(() => {});
    await client.query('SELECT pg_backup_stop(false)').catch(() => {});
    throw err;
  } finally {
    await store.put(joinKey(base, 'backup.info'), Buffer.from(renderBackupInfo(info))).catch(() => {});
  }
}
