import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { compressFrame } from 'lz4-napi';
import { describe, expect, it } from 'vitest';
import {
  type Compression,
  compressBuffer,
  compressTarChunks,
  createDecompressor,
  decompressBuffer,
  LZ4_FRAME_INPUT,
  Lz4FrameSplitter,
  parseTarName,
  splitCompressionSuffix,
  tarName,
  walSuffix,
} from './compression.ts';
import { packTar } from './tar-pack.ts';

/** Text-like data that compresses, with some noise. */
function sample(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 64) b.write(`row ${i} ${i % 977} `, i);
  randomBytes(Math.min(4096, bytes)).copy(b, Math.floor(bytes / 2));
  return b;
}

async function throughStreams(
  data: Buffer,
  c: Compression,
  chunk: number,
): Promise<{ packed: Buffer; back: Buffer }> {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  const packedChunks: Buffer[] = [];
  // Each chunk is given back only when compressed; a buffer given back twice would show here.
  const released = new Set<number>();
  const source = (async function* () {
    for (const [k, data] of parts.entries())
      yield {
        data,
        release: () => {
          expect(released.has(k)).toBe(false);
          released.add(k);
        },
      };
  })();
  for await (const x of compressTarChunks(source, c, 3)) packedChunks.push(x);
  expect(released.size).toBe(parts.length);
  const packed = Buffer.concat(packedChunks);
  const backChunks: Buffer[] = [];
  // Fed back in odd-sized pieces so that frame headers and size words straddle chunks.
  const odd: Buffer[] = [];
  for (let i = 0; i < packed.length; i += 7919) odd.push(packed.subarray(i, i + 7919));
  await pipeline(Readable.from(odd), createDecompressor(c), async (src: AsyncIterable<Buffer>) => {
    for await (const x of src) backChunks.push(x);
  });
  return { packed, back: Buffer.concat(backChunks) };
}

describe('compression names as barman-cloud uses them', () => {
  it('gives WAL objects one suffix, and splits exactly one off', () => {
    expect([walSuffix('none'), walSuffix('gzip'), walSuffix('lz4'), walSuffix('zstd')]).toEqual([
      '',
      '.gz',
      '.lz4',
      '.zst',
    ]);
    expect(splitCompressionSuffix('000000010000000000000003.lz4')).toEqual({
      name: '000000010000000000000003',
      compression: 'lz4',
    });
    expect(splitCompressionSuffix('00000002.history')).toEqual({
      name: '00000002.history',
      compression: 'none',
    });
    expect(splitCompressionSuffix('x.gz.bz2')).toEqual({ name: 'x.gz', compression: 'bzip2' });
  });
  it('names tars as _build_dest_name does, and reads the names back', () => {
    expect(tarName('data', 'none')).toBe('data.tar');
    expect(tarName('data', 'gzip')).toBe('data.tar.gz');
    expect(tarName('16385', 'lz4')).toBe('16385.tar.lz4');
    expect(tarName('data', 'bzip2', 1)).toBe('data_0001.tar.bz2');
    expect(parseTarName('data_0002.tar.snappy')).toEqual({ base: 'data', part: 2, compression: 'snappy' });
    expect(parseTarName('16385.tar')).toEqual({ base: '16385', part: 0, compression: 'none' });
    expect(parseTarName('backup.info')).toBeUndefined();
    expect(parseTarName('data.tar.zip')).toBeUndefined();
  });
});

describe('compressing and decompressing', () => {
  it.each(['none', 'gzip', 'lz4'] as const)('round-trips a 16 MiB WAL-sized buffer with %s', async (c) => {
    const wal = sample(16 * 1024 * 1024);
    const packed = await compressBuffer(wal, c);
    if (c !== 'none') expect(packed.length).toBeLessThan(wal.length / 4);
    expect((await decompressBuffer(packed, c)).equals(wal)).toBe(true);
  });

  it('writes gzip WAL and tars at level 6 (barman: 6 for WAL, 9 for tars; pgBackRest: 6)', async () => {
    const data = sample(2 * 1024 * 1024);
    const wal = await compressBuffer(data, 'gzip', 'wal');
    const tar = await compressBuffer(data, 'gzip', 'tar');
    // The gzip header's XFL byte: 0 for levels 2-8, 2 for level 9, 4 for level 1 (zlib's deflate).
    expect([wal[8], tar[8]]).toEqual([0, 0]);
    expect(gunzipSync(tar).equals(data)).toBe(true);
    expect(gunzipSync(wal).equals(data)).toBe(true);
  });

  it('writes an lz4 WAL as one frame (magic 04 22 4D 18), as python-lz4 does', async () => {
    const packed = await compressBuffer(sample(1024 * 1024), 'lz4');
    expect(packed.subarray(0, 4).toString('hex')).toBe('04224d18');
    const splitter = new Lz4FrameSplitter();
    expect(splitter.push(packed)).toHaveLength(1);
  });

  it.each(['none', 'gzip', 'lz4'] as const)('streams a tar-sized input through %s and back', async (c) => {
    const data = sample(LZ4_FRAME_INPUT * 2 + 12345);
    const { packed, back } = await throughStreams(data, c, LZ4_FRAME_INPUT);
    expect(back.equals(data)).toBe(true);
    if (c === 'lz4') {
      // A frame a chunk: 4 MiB, 4 MiB and the rest.
      expect(new Lz4FrameSplitter().push(packed)).toHaveLength(3);
    }
  });

  it('writes a tar of nothing as its two closing zero blocks, in one valid lz4 frame', async () => {
    const packed: Buffer[] = [];
    for await (const b of compressTarChunks(
      packTar([], { chunkSize: LZ4_FRAME_INPUT, inFlight: 2 }),
      'lz4',
      2,
    ))
      packed.push(b);
    const all = Buffer.concat(packed);
    expect(all.subarray(0, 4).toString('hex')).toBe('04224d18');
    expect((await decompressBuffer(all, 'lz4')).equals(Buffer.alloc(1024))).toBe(true);
  });

  it('decodes concatenated and skippable frames, and refuses cut or foreign data', async () => {
    const a = await compressFrame(Buffer.from('first '));
    const b = await compressFrame(Buffer.from('second'));
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    expect((await decompressBuffer(Buffer.concat([a, skippable, b]), 'lz4')).toString()).toBe('first second');
    await expect(decompressBuffer(Buffer.concat([a, b.subarray(0, b.length - 2)]), 'lz4')).rejects.toThrow(
      /cut short/,
    );
    await expect(decompressBuffer(Buffer.from('BZh91AY&SY'), 'lz4')).rejects.toThrow(/not lz4 frame data/);
  });
});
