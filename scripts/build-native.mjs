#!/usr/bin/env node
// Builds native/lz4.c (LZ4 frame compression through the system's liblz4) into
// build/pgherd_lz4.node; `npm ci` runs it (the `install` script). It needs a C compiler, Node's
// headers and liblz4.so.1, all on a Debian machine that can build better-sqlite3. When any is
// missing it says so and exits 0: pgherd then compresses lz4 with lz4-napi (slower, same format).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'pgherd_lz4.node');
const candidates = [
  process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
  resolve(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].filter(Boolean);
const include = candidates.find((d) => existsSync(join(d, 'node_api.h')));
const cc = process.env.CC ?? 'cc';

function skip(why) {
  // An older build must not stay in use unseen.
  rmSync(out, { force: true });
  console.warn(
    `pgherd: the liblz4 binding was not built (${why}); lz4 compression uses lz4-napi, which is slower`,
  );
  process.exit(0);
}

if (include === undefined) skip(`Node's headers (node_api.h) were not found in ${candidates.join(', ')}`);
mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp`;
try {
  execFileSync(
    cc,
    [
      '-O2',
      '-Wall',
      '-fPIC',
      '-shared',
      `-I${include}`,
      join(root, 'native', 'lz4.c'),
      '-o',
      tmp,
      '-l:liblz4.so.1',
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
} catch (err) {
  const stderr = err.stderr?.toString().trim().split('\n').slice(-3).join(' ') ?? '';
  skip(`${cc} failed: ${stderr || err.message}`);
}
renameSync(tmp, out);
console.log(`pgherd: built ${out} (liblz4)`);
