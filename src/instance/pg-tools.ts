/**
 * Running PostgreSQL's programs as the OS user PostgreSQL runs as (root cannot run them),
 * with the output captured for clear errors.
 */
import { execFile, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync, lchownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The OS account PostgreSQL runs as. */
export interface PgAccount {
  name: string;
  uid: number;
  gid: number;
  /** We are root and must switch to `uid`/`gid` for every PostgreSQL program. */
  switchUser: boolean;
}

export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class PgToolError extends Error {
  readonly result: ToolResult;
  constructor(message: string, result: ToolResult) {
    super(message);
    this.result = result;
  }
}

export interface PgTools {
  bindir: string;
  account: PgAccount;
  /** Runs a PostgreSQL program to completion; throws PgToolError on a non-zero exit. */
  run(
    program: string,
    args: string[],
    opts?: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; cwd?: string },
  ): Promise<ToolResult>;
  /** Spawn options that start a program as the PostgreSQL account. */
  spawnOptions(extra?: SpawnOptions): SpawnOptions;
  /** Gives a path (recursively) to the PostgreSQL account. */
  chownToPg(path: string): void;
}

/** Builds the tool runner for a bindir and account. */
export function createPgTools(bindir: string, account: PgAccount): PgTools {
  // PostgreSQL's programs chdir into their data directory; start them somewhere the
  // PostgreSQL account can always enter (our own cwd may be root's home).
  const spawnOptions = (extra: SpawnOptions = {}): SpawnOptions => ({
    cwd: '/',
    ...extra,
    ...(account.switchUser ? { uid: account.uid, gid: account.gid } : {}),
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      ...(account.switchUser
        ? { HOME: '/var/lib/postgresql', USER: account.name }
        : { HOME: process.env['HOME'] ?? '/' }),
      ...(extra.env ?? {}),
    },
  });
  // lstat/lchown: a symlink planted in a PostgreSQL-owned folder must never make root change
  // the owner of whatever it points to.
  const chownToPg = (path: string): void => {
    if (!account.switchUser || !existsSync(path)) return;
    const st = lstatSync(path);
    lchownSync(path, account.uid, account.gid);
    if (st.isDirectory()) {
      for (const entry of readdirSync(path)) chownToPg(join(path, entry));
    }
  };
  return {
    bindir,
    account,
    spawnOptions,
    chownToPg,
    run(program, args, opts = {}) {
      return new Promise((resolve, reject) => {
        const o = spawnOptions({
          ...(opts.env ? { env: opts.env } : {}),
          ...(opts.cwd ? { cwd: opts.cwd } : {}),
        });
        execFile(
          join(bindir, program),
          args,
          {
            ...o,
            maxBuffer: 64 * 1024 * 1024,
            ...(opts.signal ? { signal: opts.signal } : {}),
          } as Parameters<typeof execFile>[2],
          (err, stdout, stderr) => {
            const result: ToolResult = {
              exitCode:
                err === null
                  ? 0
                  : typeof (err as { code?: unknown }).code === 'number'
                    ? Number((err as { code: number }).code)
                    : 1,
              stdout: String(stdout),
              stderr: String(stderr),
            };
            if (err !== null) {
              const detail = result.stderr.trim() || result.stdout.trim() || err.message;
              reject(new PgToolError(`${program} failed (exit ${result.exitCode}): ${detail}`, result));
            } else resolve(result);
          },
        );
      });
    },
  };
}

/** Starts a long-running program as the PostgreSQL account, in its own session. */
export function spawnAsPg(tools: PgTools, program: string, args: string[], stdio: SpawnOptions['stdio']) {
  return spawn(join(tools.bindir, program), args, tools.spawnOptions({ detached: true, stdio }));
}
