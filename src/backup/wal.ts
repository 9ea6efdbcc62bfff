/**
 * WAL in the object store, in barman-cloud's layout (docs/research/barman-cloud-layout.md §1,
 * §4): `<serverName>/wals/<TLI8><LOG8>/<segment>[.gz|.lz4]`, history files directly under
 * `wals/`. A segment archived by pgherd restores with barman-cloud-wal-restore (gzip with 3.4,
 * lz4 with barman ≥3.12 and python3-lz4), and one archived by barman-cloud-wal-archive
 * (none, gzip, lz4) restores with pgherd.
 */
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { getBuffer, type ObjectStore } from '../ports/object-store.ts';
import { parseLsn } from '../postgres/lsn.ts';
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

/** A WAL file name: a segment, `.partial`, `.backup` or `.history` file. */
const WAL_NAME_SOURCE = '[0-9A-F]{8}(?:[0-9A-F]{16}(?:\\.[0-9A-F]{8}\\.backup|\\.partial)?|\\.history)';
const WAL_NAME = new RegExp(`^${WAL_NAME_SOURCE}$`);
const SEGMENT_NAME = /^[0-9A-F]{24}$/;

/** True for names barman accepts: segments, .partial, .backup, .history. */
export function isWalName(name: string): boolean {
  return WAL_NAME.test(name);
}

/** True for a WAL segment's own name (not a .partial, .backup or .history file). */
export function isSegmentName(name: string): boolean {
  return SEGMENT_NAME.test(name);
}

/** `text` with every WAL file name in it replaced by `<wal>` (to compare error causes). */
export function withoutWalNames(text: string): string {
  return text.replace(new RegExp(WAL_NAME_SOURCE, 'g'), '<wal>');
}

const hex8 = (n: bigint): string => n.toString(16).toUpperCase().padStart(8, '0');

/** A segment's number on its timeline, counted from 0/0 (PostgreSQL's XLogFromFileName). */
function segmentNumber(name: string, segmentSize: number): bigint {
  const perLog = 0x1_0000_0000n / BigInt(segmentSize);
  return BigInt(`0x${name.slice(8, 16)}`) * perLog + BigInt(`0x${name.slice(16, 24)}`);
}

/** The name of segment `n` of `timeline` (PostgreSQL's XLogFileName). */
function segmentName(timeline: bigint, n: bigint, segmentSize: number): string {
  const perLog = 0x1_0000_0000n / BigInt(segmentSize);
  return `${hex8(timeline)}${hex8(n / perLog)}${hex8(n % perLog)}`;
}

/**
 * The name of the segment `step` segments after `name` (before it, for a negative step) on the
 * same timeline; undefined before the first segment and for names that are not segments.
 */
export function segmentNameAfter(name: string, segmentSize: number, step = 1): string | undefined {
  if (!isSegmentName(name)) return undefined;
  const n = segmentNumber(name, segmentSize) + BigInt(step);
  return n < 0n ? undefined : segmentName(BigInt(`0x${name.slice(0, 8)}`), n, segmentSize);
}

/** The WAL file holding `lsn` on `timeline` (PostgreSQL's XLByteToSeg + XLogFileName). */
export function walFileName(timeline: number, lsn: string, segmentSize: number): string {
  return segmentName(BigInt(timeline), parseLsn(lsn) / BigInt(segmentSize), segmentSize);
}

/** Every WAL file name from `first` to `last` inclusive, on one timeline. */
export function walRange(first: string, last: string, segmentSize: number): string[] {
  const tli = BigInt(`0x${first.slice(0, 8)}`);
  const out: string[] = [];
  for (let n = segmentNumber(first, segmentSize); n <= segmentNumber(last, segmentSize); n++) {
    out.push(segmentName(tli, n, segmentSize));
  }
  return out;
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
): Promise<{
  key: string;
  bytes: number;
  skipped: boolean;
  ms: { read: number; compress: number; put: number };
}> {
  const key = walKey(serverName, walName) + walSuffix(compression);
  const t0 = performance.now();
  if ((await store.head(key)) !== undefined)
    return { key, bytes: 0, skipped: true, ms: { read: 0, compress: 0, put: 0 } };
  return withWholeFile(path, async (raw) => {
    const t1 = performance.now();
    const body = await compressBuffer(raw, compression, 'wal');
    const t2 = performance.now();
    await store.put(key, body);
    const t3 = performance.now();
    const r = (x: number): number => Math.round(x);
    return {
      key,
      bytes: body.length,
      skipped: false,
      ms: { read: r(t1 - t0), compress: r(t2 - t1), put: r(t3 - t2) },
    };
  });
}

/**
 * Read buffers of finished uploads, reused while archiving is busy (a fresh 16 MB buffer costs
 * page faults every time), dropped after a few idle seconds (memory at rest).
 */
const spareBuffers: Buffer[] = [];
const MAX_SPARE_BUFFERS = 4;
let dropSpares: NodeJS.Timeout | undefined;
function keepSpare(buf: Buffer): void {
  if (spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(buf);
  if (dropSpares !== undefined) clearTimeout(dropSpares);
  dropSpares = setTimeout(() => {
    spareBuffers.length = 0;
    dropSpares = undefined;
  }, 5_000);
  dropSpares.unref();
}

/**
 * Runs `fn` on a whole file read with one read call into a reused buffer (valid only until
 * `fn` settles). fs.readFile reads in 512 KiB pieces, each a round trip through the event
 * loop, which a busy manager delays, and allocates a new buffer every time.
 */
async function withWholeFile<T>(path: string, fn: (data: Buffer) => Promise<T>): Promise<T> {
  const fh = await open(path, 'r');
  let buf: Buffer | undefined;
  let off = 0;
  try {
    const { size } = await fh.stat();
    buf = spareBuffers.pop();
    if (buf === undefined || buf.length < size) buf = Buffer.allocUnsafeSlow(size);
    while (off < size) {
      const { bytesRead } = await fh.read(buf, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
  } catch (err) {
    if (buf !== undefined) keepSpare(buf);
    throw err;
  } finally {
    await fh.close();
  }
  const data = buf;
  try {
    return await fn(data.subarray(0, off));
  } finally {
    keepSpare(data);
  }
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
