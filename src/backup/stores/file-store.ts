/**
 * The object store as a local folder (`file:///path`): each key is a file below the root.
 * Writes go to a temporary file in the same folder, are fsynced and renamed into place, so a
 * reader never sees a partial object and a crash leaves none.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ObjectInfo, type ObjectStore, ObjectStoreError } from '../../ports/object-store.ts';

/** The name of an unfinished put's temporary file (see put). */
const TEMPORARY = /\.tmp-[0-9a-f]{12}$/;

export class FileObjectStore implements ObjectStore {
  readonly location: string;
  private readonly root: string;
  constructor(root: string) {
    this.root = root;
    this.location = `file://${root}`;
  }

  private pathOf(key: string): string {
    if (key.split('/').some((p) => p === '..' || p === '')) {
      throw new ObjectStoreError('other', `invalid object key ${JSON.stringify(key)}`);
    }
    return join(this.root, ...key.split('/'));
  }

  private checkRoot(): void {
    if (!existsSync(this.root)) {
      throw new ObjectStoreError(
        'no-bucket',
        `the destination folder ${this.root} does not exist; create it (pgherd does not, so a typo cannot scatter backups)`,
      );
    }
  }

  async put(key: string, body: Buffer | Readable): Promise<void> {
    this.checkRoot();
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      if (Buffer.isBuffer(body)) {
        // A WAL file or backup.info: whole-buffer writes (FileHandle.writeFile goes 512 KiB at
        // a time, a trip through the event loop each) and one fsync on the same handle.
        const fh = await open(tmp, 'wx', 0o600);
        try {
          for (let off = 0; off < body.length; ) {
            off += (await fh.write(body, off, body.length - off, off)).bytesWritten;
          }
          await fh.sync();
        } finally {
          await fh.close();
        }
      } else {
        await pipeline(body, createWriteStream(tmp, { mode: 0o600, highWaterMark: 1 << 20 }));
        const fh = await open(tmp, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    try {
      await stat(path);
    } catch {
      throw new ObjectStoreError('not-found', `${this.location}/${key} does not exist`);
    }
    return createReadStream(path, { highWaterMark: 1 << 20 });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await stat(this.pathOf(key));
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch {
      return undefined;
    }
  }

  async removeIncomplete(prefix: string): Promise<void> {
    if (!existsSync(this.root)) return;
    for (const f of await this.files(prefix)) if (f.temporary) await rm(f.path, { force: true });
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    this.checkRoot();
    const out: ObjectInfo[] = [];
    for (const f of await this.files(prefix)) {
      if (!f.temporary) out.push({ key: f.key, size: (await stat(f.path)).size });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Every file whose key starts with `prefix`, complete objects and the temporary files of
   * unfinished puts alike. Only the folder the prefix names is walked, not the whole archive.
   */
  private async files(prefix: string): Promise<Array<{ key: string; path: string; temporary: boolean }>> {
    const out: Array<{ key: string; path: string; temporary: boolean }> = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile()) {
          const key = relative(this.root, full).split(sep).join('/');
          if (key.startsWith(prefix)) out.push({ key, path: full, temporary: TEMPORARY.test(e.name) });
        }
      }
    };
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await walk(folder === '' ? this.root : this.pathOf(folder));
    return out;
  }

  /** Deletes the files, then every folder they leave empty (a key's folders exist only for it). */
  async delete(keys: readonly string[]): Promise<void> {
    const folders = new Set<string>();
    for (const key of keys) {
      const path = this.pathOf(key);
      await rm(path, { force: true });
      folders.add(dirname(path));
    }
    for (const start of folders) {
      let dir = start;
      while (dir.startsWith(this.root + sep) && dir !== this.root) {
        try {
          await rmdir(dir);
        } catch {
          break; // not empty (or already gone)
        }
        dir = dirname(dir);
      }
    }
  }
}
