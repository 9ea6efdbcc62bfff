/**
 * The compressions pgherd writes and reads, for WAL files and base-backup tars, with the names,
 * suffixes, formats and levels barman-cloud uses (docs/research/barman-cloud-layout.md §7):
 *
 * - gzip: an RFC 1952 stream (node:zlib). WAL at level 6, barman ≥3.12's default ("medium",
 *   `compression.py` PyGZipCompressor.LEVEL_MEDIUM; 3.4's GzipFile used 9); tars at level 9,
 *   what Python's `tarfile` `w|gz` stream always uses (barman-cloud-backup --gzip).
 * - lz4: the LZ4 *frame* format (magic 04 22 4D 18), as barman ≥3.12 writes `.lz4` WAL with
 *   `lz4.frame` and as the `lz4` CLI reads; written through ./lz4-codec.ts (the system's
 *   liblz4, else lz4-napi), read with lz4-napi. Both have buffer APIs only, so a tar is written
 *   as a sequence of frames of at most 4 MiB input each (the lz4 CLI and this reader decode
 *   concatenated frames; lz4-napi alone decodes only the first). barman has no lz4 tars at all
 *   (barman-cloud-backup knows gzip, bzip2 and snappy): `data.tar.lz4` is pgherd's own name
 *   and only pgherd restores it.
 * - none.
 *
 * bzip2, snappy, xz and zstd are recognised by name (barman-cloud may have written them) but not
 * read: Node has no codec for them and pgherd carries no extra dependency.
 */
import { once } from 'node:events';
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, createGzip, gunzip, gzip } from 'node:zlib';
import { decompressFrame } from 'lz4-napi';
import { compressLz4Frame } from './lz4-codec.ts';
import type { TarChunk } from './tar-pack.ts';

/** The compressions pgherd writes and reads. */
export type Compression = 'none' | 'gzip' | 'lz4';

/** Every compression barman-cloud (3.4 to 3.17) may have used for an object, by barman's name. */
export type ArchiveCompression = Compression | 'bzip2' | 'snappy' | 'xz' | 'zstd';

/** What the data is: a WAL file (compressed whole) or a tar (streamed). Levels differ. */
export type CompressionUse = 'wal' | 'tar';

/** gzip levels: barman's for WAL (`LEVEL_MEDIUM`, barman ≥3.12); 6 for tars too, not tarfile's fixed 9 (any level reads back the same; 9 costs twice the time for ~1% less), as pgBackRest's default. */
export const GZIP_LEVEL: Readonly<Record<CompressionUse, number>> = { wal: 6, tar: 6 };

/** Input bytes per LZ4 frame of a tar (one 4 MiB block a frame). */
export const LZ4_FRAME_INPUT = 4 * 1024 * 1024;

/**
 * WAL object suffixes, barman's ALLOWED_COMPRESSIONS (cloud.py; 3.4 knows the first three,
 * 3.12+ all six). One suffix at most: barman strips exactly one.
 */
const WAL_SUFFIXES: ReadonlyArray<readonly [string, ArchiveCompression]> = [
  ['.gz', 'gzip'],
  ['.bz2', 'bzip2'],
  ['.snappy', 'snappy'],
  ['.xz', 'xz'],
  ['.zst', 'zstd'],
  ['.lz4', 'lz4'],
];

/** Tar extensions, barman's CloudBackupCatalog.get_backup_files, plus pgherd's `.tar.lz4`. */
const TAR_EXTENSIONS: ReadonlyArray<readonly [string, ArchiveCompression]> = [
  ['tar', 'none'],
  ['tar.gz', 'gzip'],
  ['tar.bz2', 'bzip2'],
  ['tar.snappy', 'snappy'],
  ['tar.lz4', 'lz4'],
];

/** True for the compressions pgherd can decompress. */
export function isReadableCompression(c: ArchiveCompression): c is Compression {
  return c === 'none' || c === 'gzip' || c === 'lz4';
}

/** The suffix a WAL object gets: `''`, `.gz`, `.lz4`, ... */
export function walSuffix(c: ArchiveCompression): string {
  if (c === 'none') return '';
  return WAL_SUFFIXES.find(([, name]) => name === c)![0];
}

/**
 * Splits one known compression suffix off an object's base name, as barman does when it lists
 * WAL (`get_wal_paths`): `000000010000000000000003.gz` -> the name and 'gzip'. A name without a
 * known suffix comes back whole with 'none'.
 */
export function splitCompressionSuffix(basename: string): { name: string; compression: ArchiveCompression } {
  for (const [suffix, compression] of WAL_SUFFIXES) {
    if (basename.endsWith(suffix)) return { name: basename.slice(0, -suffix.length), compression };
  }
  return { name: basename, compression: 'none' };
}

/**
 * A tar's object name, barman's `_build_dest_name`: `data.tar`, `data.tar.gz`, `16385.tar.lz4`,
 * and `data_0001.tar.gz` for the second part of a split archive.
 */
export function tarName(base: string, compression: ArchiveCompression, part = 0): string {
  const ext = TAR_EXTENSIONS.find(([, c]) => c === compression)![0];
  return `${base}${part > 0 ? `_${String(part).padStart(4, '0')}` : ''}.${ext}`;
}

/**
 * Reads a tar object's name back: `data_0001.tar.gz` -> base `data`, part 1, 'gzip'. Undefined
 * for anything else (backup.info, annotations, unknown extensions, which barman skips too).
 */
export function parseTarName(
  name: string,
): { base: string; part: number; compression: ArchiveCompression } | undefined {
  const m = /^([^_./]+)(?:_(\d{4,}))?\.(tar(?:\.[a-z0-9]+)?)$/.exec(name);
  if (m === null) return undefined;
  const found = TAR_EXTENSIONS.find(([ext]) => ext === m[3]);
  if (found === undefined) return undefined;
  return { base: m[1]!, part: m[2] === undefined ? 0 : Number(m[2]), compression: found[1] };
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Compresses a whole buffer (a WAL file): gzip stream, or one LZ4 frame. */
export async function compressBuffer(
  data: Buffer,
  c: Compression,
  use: CompressionUse = 'wal',
): Promise<Buffer> {
  switch (c) {
    case 'none':
      return data;
    case 'gzip':
      return gzipAsync(data, { level: GZIP_LEVEL[use] });
    case 'lz4':
      return compressLz4Frame(data);
  }
}

/** Decompresses a whole buffer; LZ4 input may be several concatenated frames. */
export async function decompressBuffer(data: Buffer, c: Compression): Promise<Buffer> {
  switch (c) {
    case 'none':
      return data;
    case 'gzip':
      return gunzipAsync(data);
    case 'lz4': {
      const splitter = new Lz4FrameSplitter();
      const frames = splitter.push(data);
      splitter.end();
      const out: Buffer[] = [];
      for (const f of frames) out.push(await decompressFrame(f));
      return Buffer.concat(out);
    }
  }
}

/** zlib's output chunk (16 KiB by default): larger chunks mean fewer trips through tar and fs. */
const ZLIB_CHUNK = 256 * 1024;

/** A stream that decompresses what goes through it (a tar on its way back from the store). */
export function createDecompressor(c: Compression): Transform {
  switch (c) {
    case 'none':
      return new Transform({ transform: (chunk, _enc, cb) => cb(null, chunk) });
    case 'gzip':
      return createGunzip({ chunkSize: ZLIB_CHUNK });
    case 'lz4':
      return new Lz4FrameDecompressor();
  }
}

/**
 * Compresses a tar that ./tar-pack.ts writes into staging buffers, giving each buffer back once
 * it is compressed. lz4: each chunk becomes one frame, and up to `inFlight` chunks compress at
 * once on libuv's threads while the next ones are read (a single large file, the biggest part of
 * most databases, then uses more than one core). gzip: one stream, as barman's tars (Python's
 * tarfile reads a single gzip member), fed while it compresses. none: copied out.
 */
export async function* compressTarChunks(
  source: AsyncIterable<TarChunk>,
  c: Compression,
  inFlight: number,
): AsyncGenerator<Buffer> {
  switch (c) {
    case 'none':
      for await (const chunk of source) {
        const copy = Buffer.from(chunk.data);
        chunk.release();
        yield copy;
      }
      return;
    case 'lz4':
      yield* lz4Chunks(source, inFlight);
      return;
    case 'gzip':
      yield* gzipChunks(source, GZIP_LEVEL.tar);
      return;
    default:
      throw new Error(`pgherd cannot write ${String(c)} tars (it writes gzip, lz4 and none)`);
  }
}

async function* lz4Chunks(source: AsyncIterable<TarChunk>, inFlight: number): AsyncGenerator<Buffer> {
  const pending: Array<Promise<Buffer>> = [];
  try {
    for await (const chunk of source) {
      const frame = compressLz4Frame(chunk.data).finally(() => chunk.release());
      frame.catch(() => {}); // awaited in order below; a failure is seen there
      pending.push(frame);
      if (pending.length >= Math.max(1, inFlight)) yield await pending.shift()!;
    }
    while (pending.length > 0) yield await pending.shift()!;
  } finally {
    // Given up early (the upload failed): frames still compressing give their buffers back.
    await Promise.allSettled(pending);
  }
}

async function* gzipChunks(source: AsyncIterable<TarChunk>, level: number): AsyncGenerator<Buffer> {
  const gz = createGzip({ level, chunkSize: ZLIB_CHUNK });
  const out: Buffer[] = [];
  let ended = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  gz.on('data', (b: Buffer) => {
    out.push(b);
    // The consumer (an upload) is slower: stop compressing until it catches up.
    if (out.length >= 16) gz.pause();
    notify();
  });
  gz.on('end', () => {
    ended = true;
    notify();
  });
  gz.on('error', (err) => {
    failed ??= err;
    notify();
  });
  const stop = new AbortController();
  const feeding = (async () => {
    // A chunk goes back to its pool once zlib has read it (the write's callback).
    for await (const chunk of source) {
      if (!gz.write(chunk.data, () => chunk.release())) await once(gz, 'drain', { signal: stop.signal });
    }
    gz.end();
  })();
  feeding.catch((err: Error) => {
    failed ??= err;
    notify();
  });
  try {
    for (;;) {
      const b = out.shift();
      if (b !== undefined) {
        if (gz.isPaused() && out.length < 4) gz.resume();
        yield b;
        continue;
      }
      if (failed !== undefined) throw failed;
      if (ended) return;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  } finally {
    if (!ended) {
      stop.abort();
      gz.destroy();
    }
  }
}

/** Splits the input into LZ4 frames and decompresses them one at a time. */
class Lz4FrameDecompressor extends Transform {
  private readonly splitter = new Lz4FrameSplitter();

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let frames: Buffer[];
    try {
      frames = this.splitter.push(chunk);
    } catch (err) {
      cb(err as Error);
      return;
    }
    this.decode(frames).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.splitter.end();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  private async decode(frames: Buffer[]): Promise<void> {
    for (const f of frames) this.push(await decompressFrame(f));
  }
}

const LZ4_MAGIC = 0x184d2204;
const isSkippableMagic = (m: number): boolean => m >>> 4 === 0x184d2a5;

/**
 * Finds frame boundaries in a byte stream of concatenated LZ4 frames (lz4 frame format spec,
 * lz4_Frame_format.md): header (magic, FLG, BD, optional content size and dictionary id, HC),
 * blocks (size word, data, optional block checksum) up to a zero end mark and an optional
 * content checksum. Skippable frames are dropped. Only sizes are read; the data is not copied
 * until a frame is complete.
 */
export class Lz4FrameSplitter {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Parse position within the current frame (which starts at offset 0 of the buffered bytes). */
  private pos = 0;
  private frame: { blockChecksum: boolean; contentChecksum: boolean } | undefined;

  /** Adds bytes; returns the frames now complete, each a standalone buffer. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    const out: Buffer[] = [];
    for (;;) {
      const size = this.completeFrameSize();
      if (size === undefined) return out;
      out.push(this.take(size));
    }
  }

  /** Throws when the input ended inside a frame. */
  end(): void {
    if (this.length > 0) {
      throw new Error(`the lz4 data is cut short: ${this.length} bytes after the last complete frame`);
    }
  }

  /** The byte length of the first frame when it is complete, else undefined; advances the parse. */
  private completeFrameSize(): number | undefined {
    if (this.frame === undefined) {
      if (this.length < 4) return undefined;
      const magic = this.u32(0);
      if (isSkippableMagic(magic)) {
        if (this.length < 8) return undefined;
        const total = 8 + this.u32(4);
        if (this.length < total) return undefined;
        this.take(total);
        return this.completeFrameSize();
      }
      if (magic !== LZ4_MAGIC) {
        throw new Error(
          `not lz4 frame data (magic ${magic.toString(16).padStart(8, '0')}; expected 184d2204, the lz4 frame format)`,
        );
      }
      if (this.length < 6) return undefined;
      const flg = this.u8(4);
      if (flg >> 6 !== 1) throw new Error(`unsupported lz4 frame version ${flg >> 6}`);
      const headerLength = 7 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
      if (this.length < headerLength) return undefined;
      this.frame = { blockChecksum: (flg & 0x10) !== 0, contentChecksum: (flg & 0x04) !== 0 };
      this.pos = headerLength;
    }
    for (;;) {
      if (this.length < this.pos + 4) return undefined;
      const word = this.u32(this.pos);
      if (word === 0) {
        const total = this.pos + 4 + (this.frame.contentChecksum ? 4 : 0);
        if (this.length < total) return undefined;
        this.frame = undefined;
        this.pos = 0;
        return total;
      }
      this.pos += 4 + (word & 0x7fffffff) + (this.frame.blockChecksum ? 4 : 0);
    }
  }

  /** Removes the first n buffered bytes and returns them. */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return head;
  }

  private u8(offset: number): number {
    let at = offset;
    for (const c of this.chunks) {
      if (at < c.length) return c[at]!;
      at -= c.length;
    }
    throw new RangeError('lz4 splitter read past the buffered data');
  }

  private u32(offset: number): number {
    return (
      (this.u8(offset) |
        (this.u8(offset + 1) << 8) |
        (this.u8(offset + 2) << 16) |
        (this.u8(offset + 3) << 24)) >>>
      0
    );
  }
}
