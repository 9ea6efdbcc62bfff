/**
 * Background processes of the local platform (control plane, router, instance managers):
 * started detached in their own session so they outlive whoever started them, recorded in
 * pid files, and recognised by pid *and* command line so a recycled pid is never mistaken
 * for ours.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { isProcessAlive } from '../../instance/postmaster.ts';

/** True when `pid` runs (not a zombie) and its command line contains every marker. */
export function isOurProcess(pid: number, markers: readonly string[]): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return markers.every((m) => args.includes(m));
  } catch {
    return false;
  }
}

/** The pid recorded in `pidFile` if that process is still ours. */
export function readLivePid(pidFile: string, markers: readonly string[]): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return isOurProcess(pid, markers) ? pid : undefined;
}

export interface SpawnDetachedOptions {
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Takes `pidFile` for this process, so that of two processes started for the same role only one
 * runs. The file appears complete and atomically (a hard link of a finished temp file: a reader
 * never sees it empty), and a stale file (its process is gone, or its pid now belongs to
 * something else) is replaced under a second exclusive file, so two processes that both find it
 * stale cannot both take it. Returns the live holder's pid when another process has it.
 */
export function acquirePidFile(
  pidFile: string,
  markers: readonly string[],
): { ok: true } | { ok: false; holder: number } {
  const tmp = `${pidFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        linkSync(tmp, pidFile);
        return { ok: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readLivePid(pidFile, markers);
      if (holder !== undefined && holder !== process.pid) return { ok: false, holder };
      const takeover = `${pidFile}.takeover`;
      try {
        writeFileSync(takeover, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      } catch {
        // Someone else is replacing the stale file; a takeover file left by a crash expires.
        try {
          if (Date.now() - statSync(takeover).mtimeMs > 10_000) removeFile(takeover);
        } catch {
          /* gone */
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        continue;
      }
      try {
        if (readLivePid(pidFile, markers) === undefined) removeFile(pidFile);
      } finally {
        removeFile(takeover);
      }
    }
  } finally {
    removeFile(tmp);
  }
  throw new Error(`cannot take ${pidFile}: it keeps being re-created by another process`);
}

/** Removes `pidFile` if it still names this process. */
export function releasePidFile(pidFile: string): void {
  try {
    if (Number(readFileSync(pidFile, 'utf8').trim()) === process.pid) unlinkSync(pidFile);
  } catch {
    /* gone */
  }
}

/**
 * Starts a detached background process (its own session and process group) with stdout and
 * stderr appended to `logFile`. The process takes its own pid file.
 */
export function spawnDetached(o: SpawnDetachedOptions): number {
  const fd = openSync(o.logFile, 'a', 0o600);
  try {
    const child = spawn(o.command, o.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: o.env ?? process.env,
    });
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${o.command} ${o.args.join(' ')}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Waits until `pid` is gone or `timeoutMs` passed; returns whether it is gone. */
export async function waitForExit(
  pid: number,
  markers: readonly string[],
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isOurProcess(pid, markers)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isOurProcess(pid, markers);
}

export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/**
 * Pids of the processes whose working directory is `dir`: PostgreSQL's postmaster and every
 * backend it forked live in their data directory, including backends a killed postmaster left.
 * Processes we may not inspect (another user's, when not root) are skipped.
 */
export function processesInDirectory(dir: string): number[] {
  const out: number[] = [];
  let entries: string[];
  let target = dir;
  try {
    target = realpathSync(dir);
  } catch {
    /* the folder is gone: processes may still show its old path */
  }
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${e}/cwd`);
      // A removed folder shows as "<path> (deleted)".
      if (cwd === target || cwd === `${target} (deleted)` || cwd === `${dir} (deleted)`) out.push(pid);
    } catch {
      /* gone, or not ours to see */
    }
  }
  return out;
}
