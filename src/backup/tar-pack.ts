/**
 * Writes a base backup's tar: POSIX ustar headers, with a pax extended header in front of an
 * entry whose name, link target, size or ids do not fit (GNU tar, Python's tarfile and so
 * barman-cloud-restore read both). File data is read straight into a few reusable staging
 * buffers, which the next stage (compression, ./compression.ts `compressTarChunks`) hands back
 * once done with them: no buffer per read, no copy on the way, and so almost no garbage to
 * collect. With tar-stream, reading 800 MB allocated 800 MB of 1 MiB buffers plus a copy of
 * each into the compressor's frames, and the garbage collector took a third of the time.
 */
import { open } from 'node:fs/promises';

/** One thing to put in a tar. */
export interface TarEntry {
  /** The path in the tar, relative, without a trailing slash. */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime: Date;
  uid?: number;
  gid?: number;
  /** A symlink's target. */
  linkname?: string;
  /**
   * A file's size in the tar: exactly this many bytes are written, the rest zeros if the file
   * shrinks or disappears while it is read (PostgreSQL replays it from the WAL), cut if it grows.
   */
  size?: number;
  /** The file to read, or `body` for one held in memory (backup_label). */
  path?: string;
  body?: Buffer;
}

/** A piece of the tar in a staging buffer; `release` gives the buffer back for reuse. */
export interface TarChunk {
  data: Buffer;
  release(): void;
}

const BLOCK = 512;
/** The largest value an ustar numeric field of `len` bytes holds (len - 1 octal digits). */
const maxOctal = (len: number): number => 8 ** (len - 1) - 1;

function putOctal(h: Buffer, value: number, off: number, len: number): void {
  h.write(
    `${Math.min(value, maxOctal(len))
      .toString(8)
      .padStart(len - 1, '0')}\0`,
    off,
    len,
    'latin1',
  );
}

/** A pax record: "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restBytes = Buffer.byteLength(rest);
  let digits = 1;
  while (String(restBytes + digits).length > digits) digits++;
  return `${restBytes + digits}${rest}`;
}

/** Splits a long name into ustar's prefix (155 bytes) and name (100 bytes), if it can be. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) > 155) return undefined;
    if (rest !== '' && Buffer.byteLength(rest) <= 100) return { prefix, name: rest };
  }
  return undefined;
}

const TYPE_FLAG: Readonly<Record<TarEntry['type'] | 'pax', string>> = {
  file: '0',
  symlink: '2',
  directory: '5',
  pax: 'x',
};

function ustarHeader(o: {
  name: string;
  prefix: string;
  type: TarEntry['type'] | 'pax';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(o.name, 0, 100, 'utf8');
  putOctal(h, o.mode & 0o7777, 100, 8);
  putOctal(h, o.uid, 108, 8);
  putOctal(h, o.gid, 116, 8);
  putOctal(h, o.size, 124, 12);
  putOctal(h, o.mtime, 136, 12);
  h.write(TYPE_FLAG[o.type], 156, 1, 'latin1');
  h.write(o.linkname, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.write(o.prefix, 345, 155, 'utf8');
  // The checksum counts its own field as eight spaces; written as six octal digits, NUL, space.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/** The header block(s) of an entry: a pax header first when a field does not fit ustar. */
export function tarHeader(e: TarEntry): Buffer {
  const size = e.type === 'file' ? (e.size ?? e.body?.length ?? 0) : 0;
  const linkname = e.linkname ?? '';
  const uid = e.uid ?? 0;
  const gid = e.gid ?? 0;
  const mtime = Math.max(0, Math.floor(e.mtime.getTime() / 1000));
  const split = splitName(e.name);
  const pax: string[] = [];
  if (split === undefined) pax.push(paxRecord('path', e.name));
  if (Buffer.byteLength(linkname) > 100) pax.push(paxRecord('linkpath', linkname));
  if (size > maxOctal(12)) pax.push(paxRecord('size', String(size)));
  if (uid > maxOctal(8)) pax.push(paxRecord('uid', String(uid)));
  if (gid > maxOctal(8)) pax.push(paxRecord('gid', String(gid)));
  if (mtime > maxOctal(12)) pax.push(paxRecord('mtime', String(mtime)));
  const main = ustarHeader({
    name: split?.name ?? Buffer.from(e.name).subarray(0, 100).toString('utf8'),
    prefix: split?.prefix ?? '',
    type: e.type,
    mode: e.mode,
    uid,
    gid,
    size,
    mtime,
    linkname,
  });
  if (pax.length === 0) return main;
  const body = Buffer.from(pax.join(''), 'utf8');
  const base =
    e.name
      .split('/')
      .filter((p) => p !== '')
      .at(-1) ?? 'entry';
  const paxHeader = ustarHeader({
    name: `PaxHeader/${base}`.slice(0, 100),
    prefix: '',
    type: 'pax',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime,
    linkname: '',
  });
  const padded = Buffer.alloc(Math.ceil(body.length / BLOCK) * BLOCK);
  body.copy(padded);
  return Buffer.concat([paxHeader, padded, main]);
}

/** Staging buffers of one size, made up to `max`, then handed out again as they come back. */
class ChunkPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<(b: Buffer) => void> = [];
  private made = 0;
  private readonly size: number;
  private readonly max: number;
  constructor(size: number, max: number) {
    this.size = size;
    this.max = max;
  }

  take(): Promise<Buffer> {
    const b = this.free.pop();
    if (b !== undefined) return Promise.resolve(b);
    if (this.made < this.max) {
      this.made++;
      return Promise.resolve(Buffer.allocUnsafeSlow(this.size));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(b: Buffer): void {
    const w = this.waiting.shift();
    if (w !== undefined) w(b);
    else this.free.push(b);
  }
}

export interface PackOptions {
  /** Bytes per chunk (the compressor's frame input). */
  chunkSize: number;
  /** Chunks the consumer may hold at once (compressing); staging buffers are this plus two. */
  inFlight: number;
  /** File bytes written so far, for progress. */
  onBytes?: (n: number) => void;
}

/**
 * The tar of `entries`, in chunks of `chunkSize` bytes (the last one shorter), ending with the
 * two zero blocks that close a tar. Entries may come as they are known (the backup's label
 * comes after pg_backup_stop, once every other file is read).
 */
export async function* packTar(
  entries: Iterable<TarEntry> | AsyncIterable<TarEntry>,
  o: PackOptions,
): AsyncGenerator<TarChunk> {
  const pool = new ChunkPool(o.chunkSize, o.inFlight + 2);
  let chunk = await pool.take();
  let at = 0;
  /** The first `length` bytes of the current staging buffer, handed on. */
  const emit = (length: number): TarChunk => {
    const c = chunk;
    return { data: c.subarray(0, length), release: () => pool.give(c) };
  };
  /** A full staging buffer goes on, and the next one is taken (when one is given back). */
  async function* room(): AsyncGenerator<TarChunk> {
    if (at < chunk.length) return;
    yield emit(chunk.length);
    chunk = await pool.take();
    at = 0;
  }
  /** Copies bytes (headers, a body held in memory) into the chunks. */
  async function* put(src: Buffer): AsyncGenerator<TarChunk> {
    for (let from = 0; from < src.length; ) {
      yield* room();
      const n = src.copy(chunk, at, from);
      at += n;
      from += n;
    }
  }
  async function* zeros(count: number): AsyncGenerator<TarChunk> {
    for (let left = count; left > 0; ) {
      yield* room();
      const n = Math.min(left, chunk.length - at);
      chunk.fill(0, at, at + n);
      at += n;
      left -= n;
    }
  }
  async function* fileData(path: string, size: number): AsyncGenerator<TarChunk> {
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      // A file removed since the walk (a dropped table) is replayed away from the WAL.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`cannot open ${path} for the backup: ${(err as Error).message}`, { cause: err });
    }
    try {
      for (let pos = 0; pos < size; ) {
        yield* room();
        const want = Math.min(size - pos, chunk.length - at);
        let n = 0;
        if (fh !== undefined) {
          try {
            n = (await fh.read(chunk, at, want, pos)).bytesRead;
          } catch (err) {
            throw new Error(`cannot read ${path} for the backup: ${(err as Error).message}`, { cause: err });
          }
        }
        if (n === 0) {
          // Shorter than when the walk saw it: zeros to the size in the header.
          chunk.fill(0, at, at + want);
          n = want;
          await fh?.close();
          fh = undefined;
        }
        at += n;
        pos += n;
        o.onBytes?.(n);
      }
    } finally {
      await fh?.close();
    }
  }

  for await (const e of entries) {
    yield* put(tarHeader(e));
    if (e.type !== 'file') continue;
    const size = e.size ?? e.body?.length ?? 0;
    if (e.body !== undefined) {
      yield* put(e.body.subarray(0, size));
      yield* zeros(size - Math.min(size, e.body.length));
      o.onBytes?.(size);
    } else if (e.path !== undefined) {
      yield* fileData(e.path, size);
    } else {
      yield* zeros(size);
    }
    yield* zeros((BLOCK - (size % BLOCK)) % BLOCK);
  }
  yield* zeros(2 * BLOCK);
  if (at > 0) {
    yield emit(at);
  } else {
    pool.give(chunk);
  }
}
