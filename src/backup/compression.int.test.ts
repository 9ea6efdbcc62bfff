/**
 * pgherd's lz4 is the lz4 frame format the `lz4` CLI (and python-lz4, which barman ≥3.12 uses
 * for `.lz4` WAL) speaks: a WAL segment pgherd archives decodes with `lz4 -d` byte for byte, a
 * segment the CLI compressed (linked blocks, content size, content checksum: python-lz4's
 * frame defaults and more) restores with pgherd, and a tar streamed as several frames decodes
 * with `lz4 -dc` into a tar that `tar` lists.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressTarChunks, LZ4_FRAME_INPUT } from './compression.ts';
import { FileObjectStore } from './stores/file-store.ts';
import { packTar, type TarEntry } from './tar-pack.ts';
import { archiveWal, restoreWal } from './wal.ts';

const run = promisify(execFile);
const LZ4 = '/usr/bin/lz4';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const haveLz4 = existsSync(LZ4);
if (!haveLz4 && process.env['CI'] === 'true')
  throw new Error('the lz4 CLI is not installed (apt-get install lz4)');

/** A WAL-like segment: mostly compressible records with random parts. */
function segment(): Buffer {
  const b = Buffer.alloc(16 * 1024 * 1024);
  for (let i = 0; i < b.length; i += 8192) {
    b.write(`record ${i} lsn 0/${i.toString(16)} `, i);
    if (i % 65536 === 0) randomBytes(2048).copy(b, i + 64);
  }
  return b;
}

describe.runIf(haveLz4)('lz4 objects and the lz4 CLI', () => {
  let tmp: string;
  let store: FileObjectStore;
  beforeAll(() => {
    tmp = mkdtempSync('/tmp/pgherd-lz4-');
    mkdirSync(join(tmp, 'store'));
    store = new FileObjectStore(join(tmp, 'store'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('a WAL segment archived with lz4 decodes with `lz4 -d`, byte-identical', async () => {
    const name = '000000010000000000000007';
    const wal = segment();
    writeFileSync(join(tmp, name), wal);
    const r = await archiveWal(store, 'srv', join(tmp, name), name, 'lz4');
    expect(r.key).toBe('srv/wals/0000000100000000/000000010000000000000007.lz4');
    expect(r.bytes).toBeLessThan(wal.length / 2);
    const object = join(tmp, 'store', r.key);
    await run(LZ4, ['-d', '-f', '-q', object, join(tmp, 'by-cli')]);
    expect(sha(readFileSync(join(tmp, 'by-cli')))).toBe(sha(wal));
    // And pgherd restores it too.
    expect(await restoreWal(store, 'srv', name, join(tmp, 'by-pgherd'))).toBe(true);
    expect(sha(readFileSync(join(tmp, 'by-pgherd')))).toBe(sha(wal));
  });

  it('a segment the lz4 CLI compressed (linked blocks, checksums, content size) restores with pgherd', async () => {
    const name = '000000010000000000000008';
    const wal = segment();
    writeFileSync(join(tmp, name), wal);
    const dir = join(tmp, 'store', 'srv', 'wals', '0000000100000000');
    mkdirSync(dir, { recursive: true });
    // -BD linked blocks, -B4 64 KiB blocks (python-lz4's defaults), --content-size, -BX block checksums.
    await run(LZ4, [
      '-q',
      '-f',
      '-BD',
      '-B4',
      '-BX',
      '--content-size',
      join(tmp, name),
      join(dir, `${name}.lz4`),
    ]);
    expect(await restoreWal(store, 'srv', name, join(tmp, 'restored-8'))).toBe(true);
    expect(sha(readFileSync(join(tmp, 'restored-8')))).toBe(sha(wal));
  });

  it('a tar streamed as several lz4 frames decodes with `lz4 -dc` into a tar that tar lists', async () => {
    const big = randomBytes(LZ4_FRAME_INPUT + 1000);
    const mtime = new Date();
    const entries: TarEntry[] = [
      { name: 'PG_VERSION', type: 'file', mode: 0o600, mtime, body: Buffer.from('15\n') },
      { name: 'base/1/1259', type: 'file', mode: 0o600, mtime, body: big },
      { name: 'global/pg_control', type: 'file', mode: 0o600, mtime, body: Buffer.alloc(LZ4_FRAME_INPUT, 7) },
    ];
    const raw: Buffer[] = [];
    const packed: Buffer[] = [];
    const chunks = (async function* () {
      for await (const c of packTar(entries, { chunkSize: LZ4_FRAME_INPUT, inFlight: 2 })) {
        raw.push(Buffer.from(c.data));
        yield c;
      }
    })();
    for await (const c of compressTarChunks(chunks, 'lz4', 2)) packed.push(c);
    expect(packed.length).toBeGreaterThan(1);
    await store.put('srv/base/20261126T120000/data.tar.lz4', Readable.from(packed));
    const object = join(tmp, 'store', 'srv/base/20261126T120000/data.tar.lz4');
    const { stdout } = await run(LZ4, ['-dc', object], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    expect(sha(stdout as unknown as Buffer)).toBe(sha(Buffer.concat(raw)));
    const listed = await run('/bin/sh', ['-c', `${LZ4} -dc '${object}' | tar -tvf -`]);
    expect(listed.stdout).toMatch(/PG_VERSION/);
    expect(listed.stdout).toMatch(/base\/1\/1259/);
    expect(listed.stdout).toMatch(/global\/pg_control/);
  });
});
