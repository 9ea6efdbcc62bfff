import { randomBytes } from 'node:crypto';
import { compressFrame as napiCompressFrame } from 'lz4-napi';
import { describe, expect, it } from 'vitest';
import { decompressBuffer } from './compression.ts';
import { compressLz4Frame, lz4Compressor } from './lz4-codec.ts';

/** WAL-like: records with text and random parts, some of it compressible. */
function walLike(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 256) {
    b.write(`INSERT ${i} ${(i * 7919) % 10007} `, i);
    if (i % 1024 === 0) randomBytes(64).copy(b, i + 64);
  }
  return b;
}

describe('the LZ4 frame compressor', () => {
  it('is the liblz4 binding wherever `npm ci` could build it (always in CI)', () => {
    const c = lz4Compressor();
    if (process.env['CI'] === 'true') expect(c, c.why).toEqual({ name: 'liblz4' });
    else expect(['liblz4', 'lz4-napi']).toContain(c.name);
  });

  it.each([0, 1, 100_000, 4 * 1024 * 1024, 16 * 1024 * 1024 + 3])(
    'writes one frame of %i bytes that lz4-napi reads back byte for byte',
    async (n) => {
      const data = walLike(n);
      const frame = await compressLz4Frame(data);
      expect(frame.subarray(0, 4).toString('hex')).toBe('04224d18');
      expect((await decompressBuffer(frame, 'lz4')).equals(data)).toBe(true);
      if (lz4Compressor().name === 'liblz4' && n > 0) {
        // FLG: version 01 and the content size (liblz4 picks the block size that fits).
        expect(frame[4]! >> 6).toBe(1);
        expect(frame[4]! & 0b1000).toBe(0b1000);
        expect(frame.readBigUInt64LE(6)).toBe(BigInt(n));
      }
    },
  );

  it('reads frames of either compressor, concatenated, as one tar would hold them', async () => {
    const a = walLike(300_000);
    const b = randomBytes(70_000);
    const both = Buffer.concat([
      await compressLz4Frame(a),
      await napiCompressFrame(b),
      await compressLz4Frame(a),
    ]);
    expect((await decompressBuffer(both, 'lz4')).equals(Buffer.concat([a, b, a]))).toBe(true);
  });

  it('compresses many frames at once, each result its own', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => Buffer.alloc(1_000_000 + i, i));
    const frames = await Promise.all(inputs.map((x) => compressLz4Frame(x)));
    for (const [i, f] of frames.entries())
      expect((await decompressBuffer(f, 'lz4')).equals(inputs[i]!)).toBe(true);
  });
});
