/**
 * One postmaster: start it, adopt one that already runs (after an instance-manager restart),
 * notice when it dies, and stop it in CNPG's modes. Signals go to the postmaster PID only,
 * never to its children and never by name.
 */
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PgTools } from './pg-tools.ts';
import { spawnAsPg } from './pg-tools.ts';

export type ShutdownMode = 'smart' | 'fast' | 'immediate';
const SIGNAL: Record<ShutdownMode, NodeJS.Signals> = {
  smart: 'SIGTERM',
  fast: 'SIGINT',
  immediate: 'SIGQUIT',
};

/** True when a process with this pid exists (and is not a zombie we could see). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The pid in PGDATA/postmaster.pid when that process is a live postgres on this data directory. */
export function findRunningPostmaster(pgdata: string): number | undefined {
  const pidFile = join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return isPostmasterOf(pid, pgdata) ? pid : undefined;
}

/** True when `pid` is alive and is `postgres -D pgdata` (guards against pid reuse). */
export function isPostmasterOf(pid: number, pgdata: string): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => a.endsWith('postgres')) && cmdline.includes(pgdata);
  } catch {
    return false;
  }
}

export class Postmaster {
  private pidValue: number | undefined;
  private ownChild = false;
  private childExited = false;

  private readonly tools: PgTools;
  private readonly pgdata: string;
  private readonly stderrFile: string;
  constructor(tools: PgTools, pgdata: string, stderrFile: string) {
    this.tools = tools;
    this.pgdata = pgdata;
    this.stderrFile = stderrFile;
  }

  get pid(): number | undefined {
    return this.pidValue;
  }

  /** Adopts a postmaster left running by a previous instance manager. */
  adopt(): boolean {
    const pid = findRunningPostmaster(this.pgdata);
    this.pidValue = pid;
    this.ownChild = false;
    return pid !== undefined;
  }

  /**
   * Starts `postgres -D PGDATA` in its own session; early errors go to `stderrFile`.
   * `settings` are given as `-c name=value` (they last until the postmaster stops).
   */
  start(settings: ReadonlyArray<readonly [string, string]> = []): number {
    const fd = openSync(this.stderrFile, 'a', 0o600);
    try {
      const args = ['-D', this.pgdata, ...settings.flatMap(([k, v]) => ['-c', `${k}=${v}`])];
      const child = spawnAsPg(this.tools, 'postgres', args, ['ignore', fd, fd]);
      child.unref();
      this.ownChild = true;
      this.childExited = false;
      const markExited = (): void => {
        this.childExited = true;
      };
      child.on('error', markExited);
      child.on('exit', markExited);
      if (child.pid === undefined) {
        throw new Error(
          `PGHERD_INSTANCE_START_FAILED: could not start ${this.tools.bindir}/postgres for ${this.pgdata}`,
        );
      }
      this.pidValue = child.pid;
      return child.pid;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * True while our postmaster runs. The pid is checked together with the command line
   * (`postgres -D PGDATA`), so a recycled pid is never taken for it — and never signalled.
   */
  isRunning(): boolean {
    if (this.pidValue === undefined) return false;
    // Our own child: its exit event is exact (and a freshly forked child may not show its
    // final command line yet). An adopted postmaster: pid plus command line.
    if (this.ownChild) return !this.childExited;
    return isPostmasterOf(this.pidValue, this.pgdata);
  }

  /** The last lines PostgreSQL wrote to stderr before logging started (why a start failed). */
  lastStartupErrors(lines = 5): string {
    try {
      return readFileSync(this.stderrFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Sends the shutdown signal for `mode` and waits up to `timeoutMs` for the postmaster to exit. */
  async stop(mode: ShutdownMode, timeoutMs: number): Promise<boolean> {
    const pid = this.pidValue;
    if (pid === undefined || !this.isRunning()) return true;
    try {
      process.kill(pid, SIGNAL[mode]);
    } catch {
      return true;
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.isRunning()) return true;
      await sleep(50);
    }
    return !this.isRunning();
  }

  /** CNPG's stop: `first` mode within `timeoutMs`, then immediate. */
  async stopEscalating(first: ShutdownMode, timeoutMs: number): Promise<void> {
    if (await this.stop(first, timeoutMs)) return;
    if (await this.stop('immediate', 10_000)) return;
    if (this.pidValue !== undefined && this.isRunning()) process.kill(this.pidValue, 'SIGKILL');
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
