/**
 * The base backup's own tar writer against the readers that restore it: GNU tar (pgherd's
 * restore, and restores by hand) and Python's tarfile (barman-cloud-restore). Small staging
 * chunks make headers, data and padding straddle chunk boundaries; every compression goes
 * through the same chunk pipeline as a backup.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Compression, compressTarChunks, decompressBuffer } from './compression.ts';
import { packTar, type TarEntry } from './tar-pack.ts';

const run = promisify(execFile);
const haveTar = existsSync('/usr/bin/tar') || existsSync('/bin/tar');
if (!haveTar && process.env['CI'] === 'true') throw new Error('GNU tar is not installed');

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of gen) out.push(b);
  return Buffer.concat(out);
}

/** The tar, through compression and back: what a restore reads. */
async function roundTrip(
  entries: Iterable<TarEntry> | AsyncIterable<TarEntry>,
  c: Compression,
  chunkSize: number,
  inFlight = 2,
): Promise<Buffer> {
  const stored = await collect(compressTarChunks(packTar(entries, { chunkSize, inFlight }), c, inFlight));
  return c === 'gzip' ? gunzipSync(stored) : decompressBuffer(stored, c);
}

describe.runIf(haveTar)('the base backup tar writer', () => {
  let tmp: string;
  let src: string;
  const longDir = `${'d'.repeat(90)}/${'e'.repeat(90)}`;
  const longName = `${longDir}/${'f'.repeat(90)}`; // 272 bytes: needs pax
  const prefixName = `${'p'.repeat(120)}/file`; // 125 bytes: fits ustar's prefix
  const longTarget = `/somewhere/${'t'.repeat(120)}`;
  let files: Record<string, Buffer>;
  let entries: TarEntry[];

  beforeAll(() => {
    tmp = mkdtempSync('/tmp/pgherd-tar-');
    src = join(tmp, 'src');
    files = {
      'base/1/1259': randomBytes(3 * 8192 + 100),
      'base/1/empty': Buffer.alloc(0),
      'global/pg_control': randomBytes(8192),
      [prefixName]: Buffer.from('in a prefixed path\n'),
      [longName]: randomBytes(1500),
      'naïve-ünïcode': Buffer.from('utf-8 name\n'),
    };
    const mtime = new Date('2026-11-26T12:00:00Z');
    entries = [];
    const dirs = new Set<string>();
    for (const name of Object.keys(files)) {
      const parts = name.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    }
    for (const d of [...dirs].sort()) {
      mkdirSync(join(src, d), { recursive: true });
      entries.push({ name: d, type: 'directory', mode: 0o700, mtime });
    }
    for (const [name, data] of Object.entries(files)) {
      writeFileSync(join(src, name), data);
      entries.push({ name, type: 'file', mode: 0o600, mtime, size: data.length, path: join(src, name) });
    }
    entries.push({ name: 'pg_tblspc/16385', type: 'symlink', mode: 0o777, mtime, linkname: longTarget });
    entries.push({ name: 'pg_tblspc', type: 'directory', mode: 0o700, mtime });
    entries.push({ name: 'backup_label', type: 'file', mode: 0o600, mtime, body: Buffer.from('LABEL: x\n') });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  for (const c of ['none', 'lz4', 'gzip'] as const) {
    it(`GNU tar extracts what it wrote (${c}, 1 KiB chunks), names, links and bytes alike`, async () => {
      const tarball = await roundTrip(entries, c, 1024);
      expect(tarball.length % 512).toBe(0);
      const out = join(tmp, `out-${c}`);
      mkdirSync(out);
      writeFileSync(join(tmp, `t-${c}.tar`), tarball);
      await run('tar', ['-xf', join(tmp, `t-${c}.tar`), '-C', out]);
      for (const [name, data] of Object.entries(files)) {
        expect(readFileSync(join(out, name)).equals(data), name).toBe(true);
        expect(statSync(join(out, name)).mode & 0o777).toBe(0o600);
      }
      expect(readlinkSync(join(out, 'pg_tblspc/16385'))).toBe(longTarget);
      expect(readFileSync(join(out, 'backup_label'), 'utf8')).toBe('LABEL: x\n');
      // GNU tar's own check of each header's checksum and of the end of the archive.
      const listed = await run('tar', ['-tvf', join(tmp, `t-${c}.tar`)]);
      expect(listed.stderr).toBe('');
    });
  }

  it("Python's tarfile (barman-cloud-restore) reads a gzip tar of many chunks as one stream", async () => {
    const tarball = await collect(
      compressTarChunks(packTar(entries, { chunkSize: 1024, inFlight: 2 }), 'gzip', 2),
    );
    writeFileSync(join(tmp, 'py.tar.gz'), tarball);
    const script = [
      'import sys, tarfile, json',
      "t = tarfile.open(sys.argv[1], 'r|gz')",
      'print(json.dumps([[m.name, m.size, m.linkname, m.type.decode()] for m in t]))',
    ].join('\n');
    const r = await run('python3', ['-c', script, join(tmp, 'py.tar.gz')]);
    const members = JSON.parse(r.stdout) as Array<[string, number, string, string]>;
    const byName = new Map(members.map((m) => [m[0], m]));
    for (const [name, data] of Object.entries(files)) expect(byName.get(name)?.[1], name).toBe(data.length);
    expect(byName.get('pg_tblspc/16385')?.[2]).toBe(longTarget);
    expect(byName.get(longDir)?.[3]).toBe('5');
    expect(members.map((m) => m[0])).toEqual(entries.map((e) => e.name));
  });

  it('writes exactly the size in the header when a file shrank, grew or went away after the walk', async () => {
    const dir = join(tmp, 'changing');
    mkdirSync(dir);
    const mtime = new Date();
    writeFileSync(join(dir, 'shrank'), Buffer.alloc(1000, 1));
    writeFileSync(join(dir, 'grew'), Buffer.alloc(5000, 2));
    writeFileSync(join(dir, 'after'), Buffer.from('still in place\n'));
    const changing: TarEntry[] = [
      { name: 'shrank', type: 'file', mode: 0o600, mtime, size: 3000, path: join(dir, 'shrank') },
      { name: 'grew', type: 'file', mode: 0o600, mtime, size: 2000, path: join(dir, 'grew') },
      { name: 'gone', type: 'file', mode: 0o600, mtime, size: 700, path: join(dir, 'no-such-file') },
      { name: 'after', type: 'file', mode: 0o600, mtime, size: 15, path: join(dir, 'after') },
    ];
    const tarball = await roundTrip(changing, 'lz4', 2048, 3);
    const out = join(tmp, 'changing-out');
    mkdirSync(out);
    writeFileSync(join(tmp, 'changing.tar'), tarball);
    await run('tar', ['-xf', join(tmp, 'changing.tar'), '-C', out]);
    expect(
      readFileSync(join(out, 'shrank')).equals(Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(2000)])),
    ).toBe(true);
    expect(readFileSync(join(out, 'grew')).equals(Buffer.alloc(2000, 2))).toBe(true);
    expect(readFileSync(join(out, 'gone')).equals(Buffer.alloc(700))).toBe(true);
    expect(readFileSync(join(out, 'after'), 'utf8')).toBe('still in place\n');
  });

  it('keeps the order of chunks compressed at once, and reuses its few staging buffers', async () => {
    // Frames of very different content compress in different times; the tar must stay in order.
    const dir = join(tmp, 'order');
    mkdirSync(dir);
    const mtime = new Date();
    const many: TarEntry[] = [];
    const expected = new Map<string, Buffer>();
    for (let i = 0; i < 40; i++) {
      const data = i % 3 === 0 ? randomBytes(200_000) : Buffer.alloc(150_000 + i, i);
      writeFileSync(join(dir, `f${i}`), data);
      expected.set(`f${i}`, data);
      many.push({
        name: `f${i}`,
        type: 'file',
        mode: 0o600,
        mtime,
        size: data.length,
        path: join(dir, `f${i}`),
      });
    }
    let distinct = new Set<ArrayBufferLike>();
    const chunks = packTar(many, { chunkSize: 64 * 1024, inFlight: 3 });
    const seen = (async function* () {
      for await (const ch of chunks) {
        distinct.add(ch.data.buffer);
        yield ch;
      }
    })();
    const stored = await collect(compressTarChunks(seen, 'lz4', 3));
    expect(distinct.size).toBeLessThanOrEqual(5);
    distinct = new Set();
    writeFileSync(join(tmp, 'order.tar'), await decompressBuffer(stored, 'lz4'));
    const out = join(tmp, 'order-out');
    mkdirSync(out);
    await run('tar', ['-xf', join(tmp, 'order.tar'), '-C', out]);
    for (const [name, data] of expected) expect(readFileSync(join(out, name)).equals(data), name).toBe(true);
  });

  it('says which file it could not read', async () => {
    const mtime = new Date();
    const bad: TarEntry[] = [{ name: 'a-dir', type: 'file', mode: 0o600, mtime, size: 10, path: tmp }];
    await expect(
      collect(compressTarChunks(packTar(bad, { chunkSize: 1024, inFlight: 1 }), 'lz4', 1)),
    ).rejects.toThrow(`cannot read ${tmp} for the backup`);
  });
});
