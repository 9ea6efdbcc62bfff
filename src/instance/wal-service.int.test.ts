import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/harness/home.ts';
import { MemoryObjectStore } from '../backup/stores/memory-store.ts';
import { archiveWal } from '../backup/wal.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { type ArchiveResult, type WalArchiveConfig, WalService, walCommands } from './wal-service.ts';

// restore_command run for real by /bin/sh, as PostgreSQL runs it (with %f and %p replaced),
// against a running WalService. The Node fallback points at a program that does not exist, so
// every answer below comes from the spool protocol, without a Node process. As root (CI), the
// service runs as the manager does and the command as the postgres OS user, and every file
// it restores must be readable by that user.

/** The postgres OS user when we are root (the manager's setting), else undefined. */
function pgAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number =>
    Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}
const PG = pgAccount();

const SEGMENT = '000000010000000000000003';
const NEXT = '000000010000000000000004';

let dir: string;
let service: WalService;
/** What the service reported for the ContinuousArchiving condition, in order. */
let results: ArchiveResult[];
let commands: { archiveCommand: string; restoreCommand: string };

/** Runs restore_command (asynchronously: the service answers from this same process). */
function runRestore(
  name: string,
  dest = 'pg_wal/RECOVERYXLOG',
): Promise<{ code: number; stderr: string; ms: number }> {
  const cmd = commands.restoreCommand.replaceAll('%f', name).replaceAll('%p', dest);
  const t0 = performance.now();
  // As PostgreSQL's own account; and, as PostgreSQL does next, open what was restored.
  const script = `(${cmd}); rc=$?; [ $rc -eq 0 ] && { head -c 1 ${dest} > /dev/null || exit 99; }; exit $rc`;
  const child =
    PG !== undefined
      ? spawn('runuser', ['-u', 'postgres', '--', '/bin/sh', '-c', script], {
          cwd: join(dir, 'pgdata'),
          stdio: ['ignore', 'ignore', 'pipe'],
        })
      : spawn('/bin/sh', ['-c', script], { cwd: join(dir, 'pgdata'), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  return new Promise((ok) =>
    child.once('close', (code) => ok({ code: code ?? -1, stderr, ms: performance.now() - t0 })),
  );
}

function config(store: ObjectStore): WalArchiveConfig {
  return { store, serverName: 'src', compression: 'lz4', maxParallel: 2, key: 'k' };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pgh-walsvc-'));
  mkdirSync(join(dir, 'pgdata', 'pg_wal'), { recursive: true });
  if (PG !== undefined) {
    chmodSync(dir, 0o755);
    for (const d of ['pgdata', 'pgdata/pg_wal']) chownSync(join(dir, d), PG.uid, PG.gid);
  }
  const o = {
    walDir: join(dir, 'pgdata', 'pg_wal'),
    archiveSpool: join(dir, 'archive-spool'),
    restoreSpool: join(dir, 'restore-spool'),
    socketPath: join(dir, '.s.pgherd.wal'),
  };
  service = new WalService({
    ...o,
    account:
      PG !== undefined
        ? { name: 'postgres', uid: PG.uid, gid: PG.gid, switchUser: true }
        : { name: 'me', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, switchUser: false },
    log: pino({ level: 'silent' }),
    onArchiveResult: (r) => results.push(r),
  });
  results = [];
  await service.start();
  commands = walCommands({ ...o, node: '/nonexistent/node', client: '/nonexistent/wal-client.mjs' });
});

afterEach(async () => {
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A memory store that records the prefixes it lists (every download lists its object first). */
function listingStore(): { store: MemoryObjectStore; lists: string[] } {
  const store = new MemoryObjectStore();
  const lists: string[] = [];
  const list = store.list.bind(store);
  store.list = (prefix: string) => {
    lists.push(prefix);
    return list(prefix);
  };
  return { store, lists };
}

/** The instance restores from `store` (or from nowhere), as a standby or a recovery does. */
function restoreFrom(store: ObjectStore | undefined, maxParallel = 2): void {
  service.configure({
    archive: undefined,
    isCurrentPrimary: false,
    restore: store === undefined ? undefined : { ...config(store), maxParallel },
    segmentSize: 16 * 1024 * 1024,
  });
}

async function archived(store: ObjectStore, name: string, body: Buffer): Promise<void> {
  const src = join(dir, `src-${name}`);
  writeFileSync(src, body);
  await archiveWal(store, 'src', src, name, 'lz4');
}

describe('restore_command without a Node process', () => {
  it('fetches a segment on request, then finds the next one prefetched', async () => {
    const { store, lists } = listingStore();
    const a = Buffer.alloc(16 * 1024 * 1024, 7);
    const b = Buffer.alloc(16 * 1024 * 1024, 9);
    await archived(store, SEGMENT, a);
    await archived(store, NEXT, b);
    restoreFrom(store);

    const first = await runRestore(SEGMENT);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(readFileSync(join(dir, 'pgdata', 'pg_wal', 'RECOVERYXLOG')).equals(a)).toBe(true);
    // The read-ahead put the next segment in the spool: the first `mv` finds it.
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(join(dir, 'restore-spool', NEXT))).toBe(true);
    const second = await runRestore(NEXT);
    expect(second.code).toBe(0);
    // Downloaded once, ahead of the request.
    expect(lists.filter((p) => p.endsWith(NEXT))).toHaveLength(1);
    expect(readFileSync(join(dir, 'pgdata', 'pg_wal', 'RECOVERYXLOG')).equals(b)).toBe(true);
  });

  it('keeps the last segment of the archive for the second read at the end of recovery', async () => {
    const { store, lists } = listingStore();
    const a = Buffer.alloc(16 * 1024 * 1024, 3);
    const b = Buffer.alloc(16 * 1024 * 1024, 4);
    await archived(store, SEGMENT, a);
    await archived(store, NEXT, b);
    restoreFrom(store);
    // As a recovery does: prefetch from the backup's first segment, before PostgreSQL asks.
    service.prefetch(SEGMENT, { archiveRecovery: true, endOfArchive: true });
    await new Promise((r) => setTimeout(r, 500));
    expect((await runRestore(SEGMENT)).code).toBe(0);
    expect((await runRestore(NEXT)).code).toBe(0);
    expect((await runRestore('000000010000000000000005')).code).toBe(1);
    // The copy of the last segment is made once the end of the archive is known.
    for (let i = 0; i < 100 && !existsSync(join(dir, 'restore-spool', `${NEXT}.again`)); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(existsSync(join(dir, 'restore-spool', `${NEXT}.again`))).toBe(true);
    const before = lists.filter((p) => p.endsWith(NEXT)).length;
    // PostgreSQL reads the last segment again: from the copy, not from the archive.
    const again = await runRestore(NEXT);
    expect(again.code).toBe(0);
    expect(readFileSync(join(dir, 'pgdata', 'pg_wal', 'RECOVERYXLOG')).equals(b)).toBe(true);
    expect(lists.filter((p) => p.endsWith(NEXT)).length).toBe(before);
  });

  it('restores a long run of segments, each readable by PostgreSQL the moment it appears', async () => {
    // Every file appears in the spool already owned by PostgreSQL's account: the shell takes
    // it the moment it exists (a chown after the rename lost that race about once in 30
    // segments in a benchmark).
    const store = new MemoryObjectStore();
    const names: string[] = [];
    for (let i = 0; i < 60; i++) {
      const name = `0000000100000000000000${(0x10 + i).toString(16).toUpperCase()}`;
      names.push(name);
      await archived(store, name, Buffer.alloc(256 * 1024, i));
    }
    restoreFrom(store, 1);
    for (const [i, name] of names.entries()) {
      const r = await runRestore(name);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(readFileSync(join(dir, 'pgdata', 'pg_wal', 'RECOVERYXLOG'))[0]).toBe(i);
    }
  });

  it('answers "not in the archive" quickly and silently (history files, the end of the archive)', async () => {
    const store = new MemoryObjectStore();
    restoreFrom(store);
    for (const name of ['00000002.history', SEGMENT]) {
      const r = await runRestore(name);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('');
      // A Node process alone takes ~60 ms; the spool answer a few ms.
      expect(r.ms).toBeLessThan(1000);
    }
    // An answer is used once: the file archived afterwards is found by the next request.
    await archived(store, SEGMENT, Buffer.alloc(1024, 1));
    expect((await runRestore(SEGMENT)).code).toBe(0);
  });

  it('does not answer a request made before the file it asked for arrived (the shell takes that file)', async () => {
    const store = new MemoryObjectStore();
    await archived(store, SEGMENT, Buffer.alloc(1024, 5));
    let listed = 0;
    const list = store.list.bind(store);
    store.list = (prefix: string) => {
      if (prefix.endsWith(SEGMENT)) listed++;
      return list(prefix);
    };
    restoreFrom(store);
    service.prefetch(SEGMENT);
    for (let i = 0; i < 50 && !existsSync(join(dir, 'restore-spool', SEGMENT)); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const fetched = listed;
    // What the shell saw: no file, so it left a request; the download then put the file in
    // the spool, and the shell took it before the service read the request.
    rmSync(join(dir, 'restore-spool', SEGMENT));
    const want = join(dir, 'restore-spool', `${SEGMENT}.want`);
    writeFileSync(want, '');
    const before = new Date(Date.now() - 1000);
    utimesSync(want, before, before);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(want)).toBe(false);
    expect(existsSync(join(dir, 'restore-spool', SEGMENT))).toBe(false);
    expect(listed).toBe(fetched);
    // A request made now is a new one (PostgreSQL reading it again): answered.
    expect((await runRestore(SEGMENT)).code).toBe(0);
    expect(listed).toBe(fetched + 1);
  });

  it('stops an archive recovery on a store error instead of letting it end early', async () => {
    const broken = new MemoryObjectStore();
    broken.list = () => Promise.reject(new Error('s3://gone/x is unreachable: connect ECONNREFUSED'));
    restoreFrom(broken);
    service.prefetch(SEGMENT, { archiveRecovery: true });
    const r = await runRestore(NEXT);
    // Above 125: PostgreSQL stops (FATAL) rather than take the error for the end of WAL.
    expect(r.code).toBe(126);
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).toContain('after 4 attempts');
  });

  it('passes the reason of a failure to PostgreSQL (its log shows it)', async () => {
    const broken = new MemoryObjectStore();
    broken.list = () => Promise.reject(new Error('s3://gone/x is unreachable: connect ECONNREFUSED'));
    restoreFrom(broken);
    const r = await runRestore(SEGMENT);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ECONNREFUSED');
  });

  it('says so when the instance has nowhere to restore from', async () => {
    restoreFrom(undefined);
    const r = await runRestore(SEGMENT);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no object store to restore WAL from');
  });

  it('refuses a name that is not a WAL file', async () => {
    restoreFrom(new MemoryObjectStore());
    const r = await runRestore('postgresql.conf');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not a WAL file name');
  });
});

describe('continuous archiving', () => {
  it('does not report a store failure from an upload begun before one that has since succeeded', async () => {
    // The store is away when segment 3's upload begins and back before it fails; segment 4's
    // upload, begun later, succeeds first. The condition must end on the success, and the
    // stale failure must not make the next uploads wait.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let firstHead = true;
    class ComingBack extends MemoryObjectStore {
      override async head(key: string): ReturnType<MemoryObjectStore['head']> {
        if (key.includes(SEGMENT) && firstHead) {
          firstHead = false;
          await gate;
          throw new Error(`the destination folder does not exist`);
        }
        return super.head(key);
      }
    }
    const store = new ComingBack();
    const walDir = join(dir, 'pgdata', 'pg_wal');
    mkdirSync(join(walDir, 'archive_status'), { recursive: true });
    for (const name of [SEGMENT, NEXT]) {
      writeFileSync(join(walDir, name), Buffer.alloc(64 * 1024, name.at(-1)));
      writeFileSync(join(walDir, 'archive_status', `${name}.ready`), '');
    }
    service.configure({
      archive: config(store),
      isCurrentPrimary: true,
      restore: undefined,
      segmentSize: 16 * 1024 * 1024,
    });
    await eventually(
      `${NEXT} archived`,
      async () => results.some((r) => r.ok && r.walName === NEXT) || undefined,
    );
    release();
    await eventually(
      `${SEGMENT} archived`,
      async () => results.some((r) => r.ok && r.walName === SEGMENT) || undefined,
    );
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(service.archiveCondition()).toMatchObject({ ok: true });
    expect(await store.head(`src/wals/0000000100000000/${SEGMENT}.lz4`)).toBeDefined();
  });
});
