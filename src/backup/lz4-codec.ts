/**
 * Which code writes LZ4 frames: pgherd's binding to the system's liblz4 (native/lz4.c, built by
 * `npm ci`) when it was built, else lz4-napi. Both write the same kind of frame (independent
 * 4 MiB blocks, no checksum), which either reads back, as do the `lz4` CLI and barman's
 * python-lz4. On WAL, liblz4 compresses about 1.5x as fast. Reading stays with lz4-napi.
 */
import { createRequire } from 'node:module';
import { compressFrame as napiCompressFrame } from 'lz4-napi';

interface NativeLz4 {
  compressFrame(data: Buffer, level: number): Promise<Buffer>;
}

/** Where scripts/build-native.mjs puts the binding: the same from src/backup and dist/backup. */
const BINDING = '../../build/pgherd_lz4.node';

let native: { binding: NativeLz4 | undefined; error: string | undefined } | undefined;

function loadNative(): { binding: NativeLz4 | undefined; error: string | undefined } {
  if (native !== undefined) return native;
  if (process.env['PGHERD_LZ4'] === 'lz4-napi') {
    native = { binding: undefined, error: 'PGHERD_LZ4=lz4-napi' };
    return native;
  }
  try {
    native = { binding: createRequire(import.meta.url)(BINDING) as NativeLz4, error: undefined };
  } catch (err) {
    native = { binding: undefined, error: (err as Error).message.split('\n')[0] };
  }
  return native;
}

/** The compressor in use, and why not liblz4 when it is not (for logs and benchmarks). */
export function lz4Compressor(): { name: 'liblz4' | 'lz4-napi'; why?: string } {
  const n = loadNative();
  return n.binding !== undefined ? { name: 'liblz4' } : { name: 'lz4-napi', why: n.error ?? 'not built' };
}

/** One complete LZ4 frame holding all of `data` (LZ4's fast mode, the lz4 CLI's default level 1). */
export function compressLz4Frame(data: Buffer): Promise<Buffer> {
  const n = loadNative();
  return n.binding !== undefined ? n.binding.compressFrame(data, 1) : napiCompressFrame(data);
}
