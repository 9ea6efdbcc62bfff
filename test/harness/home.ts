/**
 * Test harness: a private PGHERD_HOME per test, the CLI run as a user runs it, and cleanup
 * that ends every process the test started — by pid, never by name.
 */
import { execFile, spawnSync } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { nftTableName } from '../../src/platforms/local/kernel-routes.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'bin/pgherd.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A fresh home under /tmp (short, so unix socket paths stay under the limit). */
export function createHome(): string {
  const home = mkdtempSync('/tmp/pgh-');
  // PostgreSQL runs as `postgres` when tests run as root: it must be able to pass through.
  chmodSync(home, 0o711);
  return home;
}

/** Runs `pgherd --home HOME ...args`. */
export function pgherd(
  home: string,
  args: string[],
  opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      process.execPath,
      [CLI, '--home', home, ...args],
      {
        timeout: opts.timeoutMs ?? 240_000,
        maxBuffer: 32 * 1024 * 1024,
        env: { ...process.env, PGHERD_HOME: '', ...(opts.env ?? {}) },
      },
      (err, stdout, stderr) => {
        const code =
          err === null
            ? 0
            : typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : 2;
        resolvePromise({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like pgherd() but fails the test with the output when the exit code is not 0. */
export async function pgherdOk(
  home: string,
  args: string[],
  opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
) {
  const r = await pgherd(home, args, opts);
  if (r.code !== 0)
    throw new Error(`pgherd ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Every pid file under a home (operator, router, instance managers, postmasters). */
export function recordedPids(home: string): number[] {
  const pids: number[] = [];
  const readPid = (file: string): void => {
    if (!existsSync(file)) return;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  };
  readPid(join(home, 'operator.pid'));
  readPid(join(home, 'router.pid'));
  const clusters = join(home, 'clusters');
  if (existsSync(clusters)) {
    for (const ns of readdirSync(clusters)) {
      for (const c of readdirSync(join(clusters, ns))) {
        for (const i of readdirSync(join(clusters, ns, c))) {
          readPid(join(clusters, ns, c, i, 'manager.pid'));
          readPid(join(clusters, ns, c, i, 'pgdata', 'postmaster.pid'));
        }
      }
    }
  }
  return pids;
}

/** True when the pid is alive and a process of this home (its command line mentions the home). */
export function isAliveProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/** Stops everything of a home: `pgherd down`, then SIGKILL by recorded pid, then removes it. */
export async function destroyHome(home: string): Promise<void> {
  const pids = recordedPids(home);
  await pgherd(home, ['down'], { timeoutMs: 120_000 }).catch(() => undefined);
  for (const pid of [...pids, ...recordedPids(home)]) {
    if (isAliveProcess(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  // A router that had to be killed leaves its kernel routes behind: remove them too.
  if (process.getuid?.() === 0) {
    spawnSync('nft', ['delete', 'table', 'ip', nftTableName(home)], { stdio: 'ignore' });
  }
  // PGHERD_TEST_KEEP=1 keeps the folder (logs, data) of a failed run for a post-mortem.
  if (process.env['PGHERD_TEST_KEEP'] !== '1') rmSync(home, { recursive: true, force: true });
}

/** Reads a value of a Secret, decoded. */
export async function secretValue(home: string, secret: string, key: string): Promise<string> {
  const r = await pgherdOk(home, [
    'get',
    'secret',
    secret,
    '-o',
    `jsonpath={.data.${key.replace(/\./g, '\\.')}}`,
  ]);
  return r.stdout.trim();
}

export async function servicePort(home: string, service: string): Promise<number> {
  const r = await pgherdOk(home, ['get', 'service', service, '-o', 'json']);
  return (JSON.parse(r.stdout) as { spec: { port: number } }).spec.port;
}

/** A TLS client (verify-full against the cluster CA) as the application user through a service. */
/**
 * A connect function for the application user through a service, with the secrets and port
 * read once: reconnecting after a failover must not wait for CLI calls.
 */
export async function serviceConnector(
  home: string,
  cluster: string,
  service: string,
  connectTimeoutMs = 2000,
): Promise<() => Promise<pg.Client>> {
  const password = await secretValue(home, `${cluster}-app`, 'password');
  const user = await secretValue(home, `${cluster}-app`, 'username');
  const dbname = await secretValue(home, `${cluster}-app`, 'dbname');
  const ca = await secretValue(home, `${cluster}-ca`, 'ca.crt');
  const port = await servicePort(home, service);
  return async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user,
      password,
      database: dbname,
      ssl: { ca, servername: service },
      connectionTimeoutMillis: connectTimeoutMs,
    });
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    return client;
  };
}

export async function appClient(home: string, cluster: string, service: string): Promise<pg.Client> {
  return (await serviceConnector(home, cluster, service, 5000))();
}

/** Polls `fn` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`,
  );
}

/** Runs a program (pgbench, psql) to completion with extra environment; never throws. */
export function runProgram(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolvePromise({
          code: err ? Number((err as { code?: number }).code ?? 1) : 0,
          out: `${stdout}${stderr}`,
        });
      },
    );
  });
}

/** `pgherd status CLUSTER -o json`, parsed. */
/** The parts of `pgherd status -o json` the failover tests and benchmark read. */
export interface StatusView {
  cluster: {
    status: {
      currentPrimary?: string;
      targetPrimary?: string;
      phase?: string;
      currentPrimaryTimestamp?: string;
    };
  };
  instances: Array<{
    name: string;
    role: string;
    ready: boolean;
    postmasterPid: number | null;
    managerPid: number | null;
    timelineId: number | null;
    pgPort: number;
  }>;
}

export async function clusterStatus<T>(home: string, cluster: string): Promise<T> {
  return JSON.parse((await pgherdOk(home, ['status', cluster, '-o', 'json'])).stdout) as T;
}

/** The certificate the server presented on a connected TLS client (node-postgres keeps the socket private). */
export function serverCertificate(client: pg.Client): X509Certificate {
  return (
    client as unknown as { connection: { stream: { getPeerX509Certificate(): X509Certificate } } }
  ).connection.stream.getPeerX509Certificate();
}
