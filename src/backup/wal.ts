/**
 * WAL in the object store, in barman-cloud's layout (docs/research/barman-cloud-layout.md §1,
 * §4): `<serverName>/wals/<TLI8><LOG8>/<segment>[.gz|.lz4]`, history files directly under
 * `wals/`. A segment archived by pgherd restores with barman-cloud-wal-restore (gzip with 3.4,
 * lz4 with barman ≥3.12 and python3-lz4), and one archived by barman-cloud-wal-archive
 * (none, gzip, lz4) restores with pgherd.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { getBuffer, type ObjectStore } from '../ports/object-store.ts';
import {
  type Compression,
  compressBuffer,
  decompressBuffer,
  isReadableCompression,
  splitCompressionSuffix,
  walSuffix,
} from './compression.ts';
import { joinKey } from './stores/destination.ts';

/** WAL compression pgherd writes (barmanObjectStore.wal.compression). */
export type WalCompression = Compression;

const WAL_NAME = /^([0-9A-F]{8})([0-9A-F]{8}[0-9A-F]{8}(\.[0-9A-F]{8}\.backup|\.partial)?|\.history)$/;

/** True for names barman accepts: segments, .partial, .backup, .history. */
export function isWalName(name: string): boolean {
  return WAL_NAME.test(name);
}

/** The object key of a WAL file (without compression suffix) below the destination prefix. */
export function walKey(serverName: string, walName: string): string {
  const m = WAL_NAME.exec(walName);
  if (m === null) {
    throw new Error(`"${walName}" is not a WAL file name (segment, .partial, .backup or .history)`);
  }
  if (walName.endsWith('.history')) return joinKey(serverName, 'wals', walName);
  // <timeline 8><log 8>: the first 16 characters.
  return joinKey(serverName, 'wals', walName.slice(0, 16), walName);
}

/**
 * Archives one WAL file (PostgreSQL's %p) under its name. An object already there is left as
 * it is (PostgreSQL retries an archive_command whose answer it did not see).
 */
export async function archiveWal(
  store: ObjectStore,
  serverName: string,
  path: string,
  walName: string,
  compression: WalCompression,
): Promise<{ key: string; bytes: number; skipped: boolean }> {
  const key = walKey(serverName, walName) + walSuffix(compression);
  if ((await store.head(key)) !== undefined) return { key, bytes: 0, skipped: true };
  const raw = await readFile(path);
  const body = await compressBuffer(raw, compression, 'wal');
  await store.put(key, body);
  return { key, bytes: body.length, skipped: false };
}

/**
 * Restores one WAL file into `destination` (PostgreSQL's %p), whatever suffix it was archived
 * with among those pgherd reads. Returns false when the archive does not have it (the normal
 * end of recovery), throws when it has it in a form pgherd cannot read.
 */
export async function restoreWal(
  store: ObjectStore,
  serverName: string,
  walName: string,
  destination: string,
): Promise<boolean> {
  const base = walKey(serverName, walName);
  const candidates = await store.list(base);
  // The exact name or the name plus one compression suffix; never `<name>.partial` and the like.
  const found = candidates
    .map((o) => ({ key: o.key, ...splitCompressionSuffix(o.key) }))
    .filter((o) => o.name === base);
  if (found.length === 0) return false;
  const readable = found.find((o) => isReadableCompression(o.compression));
  if (readable === undefined || !isReadableCompression(readable.compression)) {
    throw new Error(
      `${store.location}/${found[0]!.key} is compressed with ${found[0]!.compression}, which pgherd does not read (it reads none, gzip and lz4); restore it with barman-cloud-wal-restore`,
    );
  }
  const body = await decompressBuffer(await getBuffer(store, readable.key), readable.compression);
  await mkdir(dirname(destination), { recursive: true });
  const tmp = `${destination}.pgherd-restore`;
  try {
    await writeFile(tmp, body, { mode: 0o600 });
    await rename(tmp, destination);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return true;
}
