/**
 * Backup and recovery side by side with pgBackRest (issue #5), in one run, on a pgbench
 * database: base backup time (lz4, gzip), restore time (the files alone, and until the server
 * accepts writes), point-in-time recovery to a time target (until the server accepts writes),
 * pgbench TPS with WAL archiving off and on with the archive lag over the run, and the catch-up
 * speed after a burst of WAL written while the archive was unreachable.
 *
 *   npx tsx bench/backup.ts [--scale 50] [--seconds 60] [--reps 2] [--clients 4]
 *                           [--burst-mb 400] [--pitr-seconds 20] [--parallel 2] [--keep]
 *                           [--only base_backup,restore,pitr,tps,burst]
 *
 * --only runs some phases (the base backups are taken when restore or pitr is asked for).
 *
 * What is compared (the `setup` field of the JSON says it again):
 * - Restores and PITR run --reps times per tool, alternating; the median is reported with
 *   every sample.
 * - Every restore (either tool) starts after a CHECKPOINT of both source servers, `sync` and a
 *   second of quiet.
 * - pgherd: a 1-instance Cluster archiving to `file://` (wal lz4, maxParallel --parallel;
 *   data lz4 or gzip, immediateCheckpoint). Backups with `pgherd backup --target primary`;
 *   restores as new 1-instance Clusters with `bootstrap.recovery`, timed from `pgherd apply`
 *   until `pgherd wait` returns (the new primary is ready and accepts writes).
 * - pgBackRest 2.45: a plain PostgreSQL 15 on the same machine, initialized as pgherd's (same
 *   initdb options, every setting pgherd writes that is not a path, a port, TLS or logging),
 *   with the same pgbench data; posix repository, process-max --parallel, archive-async,
 *   compress-type lz4 (level 1) or gz (level 6: pgherd's gzip level), start-fast. Restores
 *   into an empty folder, then the server is started and polled until `txid_current()`
 *   succeeds (it accepts writes). A separate server rather than pgBackRest on pgherd's own
 *   instance: both tools then own archive_command, and each side runs the same PostgreSQL
 *   with the same settings and data.
 * - "archiving off": pgherd without barmanObjectStore (its archive_command is then /bin/true);
 *   pgBackRest's server with archive_command /bin/true. No restart in either case.
 * - Archive lag: WAL bytes from the oldest `.ready` segment (or the current segment when none)
 *   to the current LSN, sampled every 2 s during the run; `drain_s` is the time after pgbench
 *   ends until the last complete segment is in the repository.
 * - WAL burst: the repository folder is renamed away (both tools fail to archive), --burst-mb
 *   of WAL is written (rows of random md5 text), the folder is renamed back, and the clock
 *   runs until every segment of the burst is in the repository.
 *
 * Every process it starts is stopped in `finally` (pgherd down; plain servers by pg_ctl and
 * then by the pid in postmaster.pid; pgBackRest's async workers by pid). Run it on a quiet
 * machine: the backup and restore figures move with CPU contention.
 */
import { execFile } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lz4Compressor } from '../src/backup/lz4-codec.ts';
import { destroyHome } from '../test/harness/home.ts';
import { ROOT, scratchHome } from './lib.ts';

const { values: opt } = parseArgs({
  options: {
    scale: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    reps: { type: 'string', default: '2' },
    clients: { type: 'string', default: '4' },
    'burst-mb': { type: 'string', default: '400' },
    'pitr-seconds': { type: 'string', default: '20' },
    parallel: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
    only: { type: 'string', default: 'base_backup,restore,pitr,tps,burst' },
  },
});
const ONLY = new Set(opt.only.split(','));
// destroyHome keeps the pgherd home too.
if (opt.keep) process.env['PGHERD_TEST_KEEP'] = '1';
const SCALE = Number(opt.scale);
const SECONDS = Number(opt.seconds);
const REPS = Number(opt.reps);
const CLIENTS = Number(opt.clients);
const BURST_MB = Number(opt['burst-mb']);
const PITR_SECONDS = Number(opt['pitr-seconds']);
const PARALLEL = Number(opt.parallel);

const PGBIN = '/usr/lib/postgresql/15/bin';
const CLI = join(ROOT, 'bin/pgherd.js');
const MB = 1024 * 1024;
const STANZA = 'bench';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r1 = (x: number): number => Math.round(x * 10) / 10;
const log = (msg: string): void => {
  process.stderr.write(`[bench/backup ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

// ---------------------------------------------------------------------------------------------
// Processes

interface Done {
  code: number;
  out: string;
}

/** Runs a program to its end (killed after timeoutMs); as the postgres OS user when asked. */
function exec(
  cmd: string,
  args: readonly string[],
  o: { asPostgres?: boolean; timeoutMs?: number } = {},
): Promise<Done> {
  const file = o.asPostgres === true ? 'runuser' : cmd;
  const argv = o.asPostgres === true ? ['-u', 'postgres', '--', cmd, ...args] : [...args];
  return new Promise((res) => {
    execFile(
      file,
      argv,
      {
        timeout: o.timeoutMs ?? 600_000,
        maxBuffer: 64 * MB,
        // postgres cannot enter root's working directory.
        cwd: '/tmp',
        env: { ...process.env, PGHERD_HOME: '' },
      },
      (err, stdout, stderr) => {
        const code =
          err === null
            ? 0
            : typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : 124;
        res({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

async function must(
  cmd: string,
  args: readonly string[],
  o: { asPostgres?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  const r = await exec(cmd, args, o);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.out.trim().slice(-1500)}`);
  }
  return r.out;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}

const postgresUser = ((): { uid: number; gid: number } => {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (line === undefined) throw new Error('no postgres OS user');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
})();

/** A folder owned by postgres (mode 0700), created if missing. */
function pgDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chownSync(path, postgresUser.uid, postgresUser.gid);
  return path;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

interface Server {
  socketDir: string;
  port: number;
  pgdata: string;
}

async function psql(s: Server, sql: string, timeoutMs = 300_000): Promise<string> {
  const out = await must(
    `${PGBIN}/psql`,
    [
      '-X',
      '-Atq',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      s.socketDir,
      '-p',
      String(s.port),
      '-d',
      'postgres',
      '-c',
      sql,
    ],
    { asPostgres: true, timeoutMs },
  );
  return out.trim();
}

function pgbench(s: Server, args: readonly string[], timeoutMs: number): Promise<string> {
  return must(`${PGBIN}/pgbench`, ['-h', s.socketDir, '-p', String(s.port), ...args, 'postgres'], {
    asPostgres: true,
    timeoutMs,
  });
}

function parsePgbench(out: string): {
  tps: number;
  latency_ms: number;
  failed: number;
  transactions: number;
} {
  return {
    tps: r1(Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? Number.NaN)),
    latency_ms: Number(/latency average = ([\d.]+) ms/.exec(out)?.[1] ?? Number.NaN),
    failed: Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0),
    transactions: Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? Number.NaN),
  };
}

/** Plain servers this run started (their PGDATA), stopped in cleanup. */
const plainServers = new Set<string>();

async function startPlain(pgdata: string, logFile: string, wait: boolean): Promise<void> {
  plainServers.add(pgdata);
  await must(`${PGBIN}/pg_ctl`, ['-D', pgdata, '-l', logFile, wait ? '-w' : '-W', '-t', '600', 'start'], {
    asPostgres: true,
    timeoutMs: 620_000,
  });
}

function postmasterPid(pgdata: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function stopPlain(pgdata: string): Promise<void> {
  const pid = postmasterPid(pgdata);
  await exec(`${PGBIN}/pg_ctl`, ['-D', pgdata, '-m', 'fast', '-w', '-t', '60', 'stop'], {
    asPostgres: true,
    timeoutMs: 70_000,
  });
  if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
  plainServers.delete(pgdata);
}

// ---------------------------------------------------------------------------------------------
// WAL arithmetic

let segSize = 16 * MB;

function lsnBytes(lsn: string): number {
  const [hi, lo] = lsn.split('/');
  return Number.parseInt(hi ?? '', 16) * 2 ** 32 + Number.parseInt(lo ?? '', 16);
}
const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');
/** The segment (on timeline `tli`) that holds byte position `bytes`. */
function segmentAt(tli: string, bytes: number): string {
  return `${tli}${hex8(Math.floor(bytes / 2 ** 32))}${hex8(Math.floor((bytes % 2 ** 32) / segSize))}`;
}
function segmentStart(name: string): number {
  return Number.parseInt(name.slice(8, 16), 16) * 2 ** 32 + Number.parseInt(name.slice(16, 24), 16) * segSize;
}
function segmentRange(first: string, last: string): string[] {
  const out: string[] = [];
  for (let b = segmentStart(first); b <= segmentStart(last); b += segSize)
    out.push(segmentAt(first.slice(0, 8), b));
  return out;
}

/** WAL files PostgreSQL has marked ready for archiving and that are not archived yet. */
function readySegments(pgdata: string): string[] {
  try {
    return readdirSync(join(pgdata, 'pg_wal/archive_status'))
      .filter((f) => /^[0-9A-F]{24}\.ready$/.test(f))
      .map((f) => f.slice(0, 24))
      .sort();
  } catch {
    return [];
  }
}

/** Segments present in a repository folder (`<base>/<16 hex>/<name><suffix>`), name -> file. */
function listArchived(base: string, re: RegExp): Map<string, string> {
  const out = new Map<string, string>();
  let dirs: string[];
  try {
    dirs = readdirSync(base).filter((d) => /^[0-9A-F]{16}$/.test(d));
  } catch {
    return out;
  }
  for (const d of dirs) {
    let files: string[] = [];
    try {
      files = readdirSync(join(base, d));
    } catch {
      /* renamed away meanwhile */
    }
    for (const f of files) {
      const m = re.exec(f);
      if (m?.[1] !== undefined) out.set(m[1], join(base, d, f));
    }
  }
  return out;
}

async function currentWal(s: Server): Promise<{ lsn: number; segment: string }> {
  const [lsn, seg] = (
    await psql(s, 'SELECT pg_current_wal_lsn(), pg_walfile_name(pg_current_wal_lsn())')
  ).split('|');
  return { lsn: lsnBytes(lsn ?? ''), segment: seg ?? '' };
}

// ---------------------------------------------------------------------------------------------
// The two sides

const root = mkdtempSync('/tmp/pgh-bench-bk-');
chmodSync(root, 0o711);
const home = scratchHome();
const store = join(root, 'store');
mkdirSync(store, { mode: 0o700 });
const br = pgDir(join(root, 'pgbr'));
const repo = join(br, 'repo');
const brConf = join(br, 'pgbackrest.conf');
const brLogs = pgDir(join(br, 'log'));
const brSource: Server = { socketDir: join(br, 'run'), port: 5432, pgdata: join(br, 'pgdata') };

interface Side {
  name: 'pgherd' | 'pgbackrest';
  server: Server;
  setArchiving(on: boolean): Promise<void>;
  archived(): Map<string, string>;
  /** Makes the repository unreachable (renames it away) or brings it back. */
  repositoryReachable(reachable: boolean): void;
}

function clusterYaml(
  name: string,
  o: { archive: boolean; data?: 'lz4' | 'gzip'; recovery?: string },
): string {
  const backup = o.archive
    ? `  backup:
    barmanObjectStore:
      destinationPath: file://${store}
      wal:
        compression: lz4
        maxParallel: ${PARALLEL}
      data:
        compression: ${o.data ?? 'lz4'}
        immediateCheckpoint: true
`
    : '';
  const recovery = o.recovery !== undefined ? `  bootstrap:\n    recovery:\n${o.recovery}` : '';
  return `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: ${name}
spec:
  instances: 1
  storage:
    size: 20Gi
${backup}${recovery}`;
}

async function pgherd(args: readonly string[], timeoutMs = 600_000): Promise<string> {
  return must(process.execPath, [CLI, '--home', home, ...args], { timeoutMs });
}

async function applyYaml(file: string, yaml: string): Promise<void> {
  writeFileSync(join(home, file), yaml);
  await pgherd(['apply', '-f', join(home, file)]);
}

function pgherdServer(cluster: string, port: number): Server {
  const dir = join(home, 'clusters/default', cluster, `${cluster}-1`);
  return { socketDir: join(dir, 'run'), port, pgdata: join(dir, 'pgdata') };
}

async function instancePort(instance: string): Promise<number> {
  const j = JSON.parse(await pgherd(['get', 'instance', instance, '-o', 'json'])) as {
    spec: { pgPort: number };
  };
  return j.spec.pgPort;
}

/** Lines of an instance manager's log, parsed (JSON lines; a partial last line is skipped). */
function managerLog(cluster: string): Array<Record<string, unknown>> {
  const file = join(home, 'clusters/default', cluster, `${cluster}-1`, 'manager.log');
  if (!existsSync(file)) return [];
  const out: Array<Record<string, unknown>> = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (rec['logger'] === 'instance-manager') out.push(rec);
    } catch {
      /* a partial line */
    }
  }
  return out;
}

/** The steps of a recovery, as the instance manager logs them (seconds after `pgherd apply`). */
const RECOVERY_STEPS: ReadonlyArray<readonly [string, string]> = [
  ['instance manager started', 'manager_started'],
  ['recovering from base backup', 'backup_chosen'],
  ['restored base backup', 'files_restored'],
  ['PostgreSQL started in recovery', 'postgres_started_in_recovery'],
  ['recovery reached its target', 'promoted'],
  ['recovery finished', 'recovery_finished'],
  ['phase Running', 'running'],
];

const brArchiveCommand = `pgbackrest --config=${brConf} --stanza=${STANZA} archive-push %p`;

async function pgbr(args: readonly string[], timeoutMs = 1_800_000): Promise<string> {
  return must('pgbackrest', [`--config=${brConf}`, `--stanza=${STANZA}`, ...args], {
    asPostgres: true,
    timeoutMs,
  });
}

let pgherdSource: Server | undefined;

const pgherdSide: Side = {
  name: 'pgherd',
  get server(): Server {
    if (pgherdSource === undefined) throw new Error('the pgherd cluster is not set up');
    return pgherdSource;
  },
  async setArchiving(on) {
    await applyYaml('pgh.yaml', clusterYaml('pgh', { archive: on, data: 'lz4' }));
    await until(
      `pgherd's archive_command to be ${on ? 'the WAL client' : '/bin/true'}`,
      async () =>
        (await psql(this.server, 'SHOW archive_command')).includes('wal-client') === on ? true : undefined,
      60_000,
      200,
    );
  },
  archived: () => listArchived(join(store, 'pgh', 'wals'), /^([0-9A-F]{24})(?:\.lz4|\.gz)?$/),
  repositoryReachable(reachable) {
    if (reachable) renameSync(`${store}.away`, store);
    else renameSync(store, `${store}.away`);
  },
};

const pgbrSide: Side = {
  name: 'pgbackrest',
  server: brSource,
  async setArchiving(on) {
    const command = on ? brArchiveCommand : '/bin/true';
    await psql(brSource, `ALTER SYSTEM SET archive_command = '${command}'`);
    await psql(brSource, 'SELECT pg_reload_conf()');
    await until(
      `archive_command to be ${command}`,
      async () => ((await psql(brSource, 'SHOW archive_command')) === command ? true : undefined),
      30_000,
      200,
    );
  },
  archived: () =>
    listArchived(join(repo, 'archive', STANZA, '15-1'), /^([0-9A-F]{24})-[0-9a-f]{40}(?:\.lz4|\.gz)?$/),
  repositoryReachable(reachable) {
    if (reachable) renameSync(`${repo}.away`, repo);
    else renameSync(repo, `${repo}.away`);
  },
};

async function waitArchived(side: Side, segment: string, timeoutMs = 300_000): Promise<void> {
  await until(
    `${side.name} to archive ${segment}`,
    async () => (side.archived().has(segment) ? true : undefined),
    timeoutMs,
  );
}

/** Until nothing is left to archive (no .ready file). */
async function waitDrained(side: Side, timeoutMs = 600_000): Promise<void> {
  await until(
    `${side.name} to archive every ready WAL file`,
    async () => (readySegments(side.server.pgdata).length === 0 ? true : undefined),
    timeoutMs,
    200,
  );
}

// ---------------------------------------------------------------------------------------------
// Phases

async function setUp(): Promise<Record<string, unknown>> {
  writeFileSync(join(home, 'pgh.yaml'), clusterYaml('pgh', { archive: true, data: 'lz4' }));
  await pgherd(['up', '-f', join(home, 'pgh.yaml')], 300_000);
  pgherdSource = pgherdServer('pgh', await instancePort('pgh-1'));
  segSize = Number(
    await psql(pgherdSource, "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'"),
  );

  // The plain server for pgBackRest: pgherd's initdb options and every setting pgherd writes
  // that is not about paths, ports, TLS, logging or archiving.
  const skip =
    /^(archive_command|archive_mode|cluster_name|hba_file|ident_file|listen_addresses|port|unix_socket_.*|ssl.*|log_.*|logging_collector|password_encryption|restart_after_crash|synchronous_standby_names)$/;
  const copied = (
    await psql(
      pgherdSource,
      "SELECT name || '=' || current_setting(name) FROM pg_settings WHERE source = 'configuration file' ORDER BY 1",
    )
  )
    .split('\n')
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const)
    .filter(([name]) => !skip.test(name));
  const checksums = (await psql(pgherdSource, 'SHOW data_checksums')) === 'on';
  pgDir(brSource.socketDir);
  pgDir(brSource.pgdata);
  for (const d of ['repo', 'spool', 'lock']) pgDir(join(br, d));
  await must(
    `${PGBIN}/initdb`,
    [
      '-D',
      brSource.pgdata,
      '--username=postgres',
      '--auth-local=peer',
      '--auth-host=reject',
      '--encoding=UTF8',
      '--lc-collate=C',
      '--lc-ctype=C',
      ...(checksums ? ['--data-checksums'] : []),
    ],
    { asPostgres: true, timeoutMs: 120_000 },
  );
  appendFileSync(
    join(brSource.pgdata, 'postgresql.conf'),
    [
      '',
      '# bench/backup.ts: the settings pgherd writes, then the server of this benchmark',
      ...copied.map(([n, v]) => `${n} = '${v.replaceAll("'", "''")}'`),
      `port = ${brSource.port}`,
      "listen_addresses = ''",
      `unix_socket_directories = '${brSource.socketDir}'`,
      'archive_mode = on',
      `archive_command = '${brArchiveCommand}'`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    brConf,
    `[global]
repo1-path=${repo}
repo1-retention-full=99
process-max=${PARALLEL}
compress-type=lz4
start-fast=y
archive-async=y
spool-path=${join(br, 'spool')}
log-path=${brLogs}
lock-path=${join(br, 'lock')}
log-level-console=warn
log-level-file=info

[${STANZA}]
pg1-path=${brSource.pgdata}
pg1-port=${brSource.port}
pg1-socket-path=${brSource.socketDir}
`,
  );
  chownSync(brConf, postgresUser.uid, postgresUser.gid);
  await startPlain(brSource.pgdata, join(brLogs, 'source.log'), true);
  await pgbr(['stanza-create'], 120_000);
  await pgbr(['check'], 120_000);

  const init: Record<string, number> = {};
  for (const [name, s] of [
    ['pgherd', pgherdSource],
    ['pgbackrest', brSource],
  ] as const) {
    const t0 = performance.now();
    await pgbench(s, ['-i', '-s', String(SCALE), '-q'], 3_600_000);
    init[`${name}_pgbench_init_s`] = r3((performance.now() - t0) / 1000);
    await psql(s, 'CHECKPOINT');
  }
  const size = async (s: Server): Promise<number> =>
    r1(Number(await psql(s, "SELECT pg_database_size('postgres')")) / MB);
  return {
    ...init,
    pgherd_database_mb: await size(pgherdSource),
    pgbackrest_database_mb: await size(brSource),
    settings_copied_to_the_pgbackrest_server: Object.fromEntries(copied),
    data_checksums: checksums,
  };
}

interface BackupTaken {
  pgherdName: string;
  pgbrLabel: string;
}
const taken: Partial<Record<'lz4' | 'gzip', BackupTaken>> = {};

/**
 * The run at the median of `key` (its other figures), with the median itself (the mean of the
 * two middle ones for an even count) and every sample.
 */
function medianOf(runs: Array<Record<string, unknown>>, key: string): Record<string, unknown> {
  const k = (r: Record<string, unknown>): number => r[key] as number;
  const sorted = [...runs].sort((x, y) => k(x) - k(y));
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const upper = sorted[Math.floor(sorted.length / 2)]!;
  return {
    ...mid,
    [key]: r3((k(mid) + k(upper)) / 2),
    median_of: runs.length,
    [`samples_${key}`]: runs.map(k),
  };
}

async function backups(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  // gzip first, lz4 last: the point-in-time recovery below starts from the newest (lz4) backup.
  for (const comp of ['gzip', 'lz4'] as const) {
    await applyYaml('pgh.yaml', clusterYaml('pgh', { archive: true, data: comp }));
    await until(
      `the cluster spec to say data compression ${comp}`,
      async () => {
        const c = JSON.parse(await pgherd(['get', 'cluster', 'pgh', '-o', 'json'])) as {
          spec: { backup?: { barmanObjectStore?: { data?: { compression?: string } } } };
        };
        return c.spec.backup?.barmanObjectStore?.data?.compression === comp ? true : undefined;
      },
      30_000,
      200,
    );
    // --reps backups per tool, alternating; the last is the one restored below.
    const runs: Array<{ pgherd: Record<string, unknown>; pgbackrest: Record<string, unknown> }> = [];
    for (let rep = 0; rep < REPS; rep++) {
      await psql(pgherdSide.server, 'CHECKPOINT');
      const name = `bench-${comp}-${rep}`;
      let t0 = performance.now();
      const cli = await pgherd(['backup', 'pgh', '--backup-name', name, '--target', 'primary'], 3_600_000);
      const pgherdWall = (performance.now() - t0) / 1000;
      const b = JSON.parse(await pgherd(['get', 'backup', name, '-o', 'json'])) as {
        metadata: { creationTimestamp: string };
        status: { backupId: string; startedAt: string; stoppedAt: string; beginLSN: string; endLSN: string };
      };
      const dir = join(store, 'pgh', 'base', b.status.backupId);
      const files = readdirSync(dir);
      const tar = files.find((f) => f.startsWith('data.tar'));
      const expected = comp === 'gzip' ? 'data.tar.gz' : 'data.tar.lz4';
      if (tar !== expected)
        throw new Error(`pgherd wrote ${tar ?? 'no data tar'} for data.compression ${comp}`);

      await psql(brSource, 'CHECKPOINT');
      const brComp = comp === 'gzip' ? 'gz' : 'lz4';
      t0 = performance.now();
      await pgbr([
        'backup',
        '--type=full',
        `--compress-type=${brComp}`,
        `--compress-level=${comp === 'gzip' ? 6 : 1}`,
      ]);
      const brWall = (performance.now() - t0) / 1000;
      const info = JSON.parse(await pgbr(['info', '--output=json'])) as Array<{
        backup: Array<{
          label: string;
          info: { size: number; repository: { size: number } };
          timestamp: { start: number; stop: number };
        }>;
      }>;
      const last = info[0]?.backup.at(-1);
      if (last === undefined) throw new Error('pgbackrest info lists no backup');
      taken[comp] = { pgherdName: name, pgbrLabel: last.label };
      runs.push({
        pgherd: {
          seconds: r3(pgherdWall),
          started_to_stopped_s: r3((Date.parse(b.status.stoppedAt) - Date.parse(b.status.startedAt)) / 1000),
          created_to_stopped_s: r3(
            (Date.parse(b.status.stoppedAt) - Date.parse(b.metadata.creationTimestamp)) / 1000,
          ),
          cli: /completed in ([\d.]+) s/.exec(cli)?.[0] ?? cli.trim().split('\n').at(-1),
          stored_mb: r1(files.reduce((a, f) => a + statSync(join(dir, f)).size, 0) / MB),
          backup_id: b.status.backupId,
        },
        pgbackrest: {
          seconds: r3(brWall),
          label: last.label,
          database_mb: r1(last.info.size / MB),
          stored_mb: r1(last.info.repository.size / MB),
        },
      });
    }
    out[comp] = {
      pgherd: medianOf(
        runs.map((r) => r.pgherd),
        'seconds',
      ),
      pgbackrest: medianOf(
        runs.map((r) => r.pgbackrest),
        'seconds',
      ),
    };
  }
  return out;
}

/** pgherd: a new 1-instance cluster recovering, from `pgherd apply` until `pgherd wait` returns. */
async function pgherdRecover(
  cluster: string,
  recovery: string,
  check: { sql: string; expect: string },
): Promise<Record<string, unknown>> {
  const yaml = clusterYaml(cluster, { archive: false, recovery });
  writeFileSync(join(home, `${cluster}.yaml`), yaml);
  await settle();
  const appliedAt = Date.now();
  const t0 = performance.now();
  await pgherd(['apply', '-f', join(home, `${cluster}.yaml`)]);
  await pgherd(['wait', cluster, '--timeout', '3600s'], 3_700_000);
  const seconds = (performance.now() - t0) / 1000;
  if (seconds > 10) {
    // An outlier: its logs are kept for a look (the cluster is deleted below).
    const dir = mkdtempSync(`/tmp/pgh-bench-slow-${cluster}-`);
    const inst = join(home, 'clusters/default', cluster, `${cluster}-1`);
    for (const f of ['manager.log', 'log/postgres.json']) {
      if (existsSync(join(inst, f))) copyFileSync(join(inst, f), join(dir, f.replace('/', '-')));
    }
    log(`${cluster} took ${r1(seconds)} s: its logs are in ${dir}`);
  }
  try {
    const got = (await pgherd(['psql', cluster, '--', '-d', 'postgres', '-XAtc', check.sql])).trim();
    if (got !== check.expect)
      throw new Error(`${cluster}: ${check.sql} gave ${got}, expected ${check.expect}`);
    const lines = managerLog(cluster);
    const find = (start: string): Record<string, unknown> | undefined =>
      lines.find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith(start));
    const files = find('restored base backup')?.['ms'];
    const timeline: Record<string, number> = {};
    for (const [start, key] of RECOVERY_STEPS) {
      const ts = find(start)?.['ts'];
      if (typeof ts === 'string') timeline[key] = r3((Date.parse(ts) - appliedAt) / 1000);
    }
    return {
      seconds_until_accepts_writes: r3(seconds),
      restore_files_s: typeof files === 'number' ? r3(files / 1000) : null,
      steps_after_apply_s: timeline,
      verified: `${check.sql} = ${got}`,
    };
  } finally {
    // --keep keeps every recovered cluster (its logs) too.
    if (!opt.keep)
      await pgherd(['delete', 'cluster', cluster, '--timeout', '300s'], 320_000).catch((err: unknown) =>
        log(`deleting cluster ${cluster}: ${(err as Error).message}`),
      );
  }
}

/**
 * Before each restore (either tool): a CHECKPOINT on both source servers and `sync`, so that
 * neither restore competes with the writeback of what ran before it (the pgbench load, the
 * previous restore, a deleted cluster), then a moment of quiet.
 */
async function settle(): Promise<void> {
  for (const side of [pgherdSide, pgbrSide]) await psql(side.server, 'CHECKPOINT').catch(() => '');
  await must('sync', []);
  await sleep(1000);
}

/** pgBackRest: restore into an empty folder, start, poll until txid_current() succeeds. */
async function pgbrRecover(
  tag: string,
  label: string,
  target: string | undefined,
  check: { sql: string; expect: string },
): Promise<Record<string, unknown>> {
  const server: Server = {
    socketDir: pgDir(join(br, `run-${tag}`)),
    port: 5433,
    pgdata: join(br, `restore-${tag}`),
  };
  rmSync(server.pgdata, { recursive: true, force: true });
  pgDir(server.pgdata);
  try {
    await settle();
    const t0 = performance.now();
    await pgbr([
      'restore',
      `--pg1-path=${server.pgdata}`,
      `--set=${label}`,
      '--archive-mode=off',
      ...(target !== undefined ? ['--type=time', `--target=${target}`, '--target-action=promote'] : []),
    ]);
    const files = (performance.now() - t0) / 1000;
    appendFileSync(
      join(server.pgdata, 'postgresql.conf'),
      `\nport = ${server.port}\nunix_socket_directories = '${server.socketDir}'\n`,
    );
    const t1 = performance.now();
    await startPlain(server.pgdata, join(brLogs, `restore-${tag}.log`), false);
    await until(
      'the restored server to accept writes',
      async () => ((await psql(server, 'SELECT txid_current()', 10_000)) !== '' ? true : undefined),
      3_600_000,
      50,
    );
    const end = performance.now();
    const got = await psql(server, check.sql);
    if (got !== check.expect)
      throw new Error(`restore-${tag}: ${check.sql} gave ${got}, expected ${check.expect}`);
    return {
      seconds_until_accepts_writes: r3((end - t0) / 1000),
      restore_files_s: r3(files),
      start_until_accepts_writes_s: r3((end - t1) / 1000),
      verified: `${check.sql} = ${got}`,
    };
  } finally {
    await stopPlain(server.pgdata);
    rmSync(server.pgdata, { recursive: true, force: true });
  }
}

/**
 * Runs each tool's restore --reps times, alternating (pgherd, pgBackRest, pgherd, ...), and
 * reports the median of seconds_until_accepts_writes with every sample: one restore moves by
 * up to 50% from one run to the next on this machine (page-cache allocation in the VM).
 */
async function alternate(
  pgherdRun: (rep: number) => Promise<Record<string, unknown>>,
  pgbrRun: () => Promise<Record<string, unknown>>,
): Promise<{ pgherd: Record<string, unknown>; pgbackrest: Record<string, unknown> }> {
  const a: Array<Record<string, unknown>> = [];
  const b: Array<Record<string, unknown>> = [];
  for (let i = 0; i < REPS; i++) {
    a.push(await pgherdRun(i));
    b.push(await pgbrRun());
  }
  const summary = (runs: Array<Record<string, unknown>>): Record<string, unknown> => {
    const key = (r: Record<string, unknown>): number => r['seconds_until_accepts_writes'] as number;
    const sorted = [...runs].sort((x, y) => key(x) - key(y));
    const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const upper = sorted[Math.floor(sorted.length / 2)]!;
    return {
      // The sample at the middle (its steps), with the median of the figure itself.
      ...mid,
      seconds_until_accepts_writes: r3((key(mid) + key(upper)) / 2),
      median_of: runs.length,
      samples_until_accepts_writes: runs.map(key),
      samples_restore_files: runs.map((r) => r['restore_files_s']),
    };
  };
  return { pgherd: summary(a), pgbackrest: summary(b) };
}

async function restores(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const accounts = { sql: 'SELECT count(*) FROM pgbench_accounts', expect: String(SCALE * 100_000) };
  for (const comp of ['gzip', 'lz4'] as const) {
    const t = taken[comp];
    if (t === undefined) throw new Error(`no ${comp} backup was taken`);
    out[comp] = await alternate(
      (i) => pgherdRecover(`r${comp}${i}`, `      backup:\n        name: ${t.pgherdName}\n`, accounts),
      () => pgbrRecover(comp, t.pgbrLabel, undefined, accounts),
    );
  }
  return out;
}

/**
 * Writes for --pitr-seconds, marks the target (row 1 committed before it, row 2 after), and
 * archives the segment holding row 2. Returns the target time in both tools' formats.
 */
async function prepareTarget(side: Side): Promise<{ iso: string; pg: string; walMb: number }> {
  const s = side.server;
  await psql(s, 'CREATE TABLE IF NOT EXISTS pitr_mark (id int)');
  const before = await currentWal(s);
  await pgbench(
    s,
    ['-n', '-c', String(CLIENTS), '-j', '2', '-T', String(PITR_SECONDS)],
    (PITR_SECONDS + 120) * 1000,
  );
  await psql(s, 'INSERT INTO pitr_mark VALUES (1)');
  const [iso, pgTime] = (
    await psql(
      s,
      `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US"+00"')`,
    )
  ).split('|');
  await sleep(300);
  await psql(s, 'INSERT INTO pitr_mark VALUES (2)');
  const after = await currentWal(s);
  await psql(s, 'SELECT pg_switch_wal()');
  await waitArchived(side, after.segment);
  return { iso: iso ?? '', pg: pgTime ?? '', walMb: r1((after.lsn - before.lsn) / MB) };
}

async function pitr(): Promise<Record<string, unknown>> {
  const t = taken.lz4;
  if (t === undefined) throw new Error('no lz4 backup was taken');
  const mark = { sql: 'SELECT count(*) FROM pitr_mark', expect: '1' };
  const a = await prepareTarget(pgherdSide);
  const b = await prepareTarget(pgbrSide);
  const r = await alternate(
    (i) =>
      pgherdRecover(
        `pitr${i}`,
        `      backup:\n        name: ${t.pgherdName}\n      recoveryTarget:\n        targetTime: "${a.iso}"\n`,
        mark,
      ),
    () => pgbrRecover('pitr', t.pgbrLabel, b.pg, mark),
  );
  return {
    from_backup: 'lz4',
    pgherd: { ...r.pgherd, wal_written_before_target_mb: a.walMb },
    pgbackrest: { ...r.pgbackrest, wal_written_before_target_mb: b.walMb },
  };
}

interface Sample {
  t: number;
  ready: number;
  lagMb: number;
}

async function sample(side: Side, t0: number): Promise<Sample> {
  const { lsn } = await currentWal(side.server);
  const ready = readySegments(side.server.pgdata);
  const from = ready[0] !== undefined ? segmentStart(ready[0]) : lsn - (lsn % segSize);
  return { t: r1((performance.now() - t0) / 1000), ready: ready.length, lagMb: r1((lsn - from) / MB) };
}

async function tpsRun(side: Side, archiving: boolean): Promise<Record<string, unknown>> {
  const s = side.server;
  await side.setArchiving(archiving);
  if (archiving) await waitDrained(side);
  await psql(s, 'CHECKPOINT');
  const start = await currentWal(s);
  const t0 = performance.now();
  const samples: Sample[] = [];
  let running = true;
  const sampler = (async () => {
    while (running) {
      if (archiving) samples.push(await sample(side, t0));
      await sleep(2000);
    }
  })();
  let out: string;
  try {
    out = await pgbench(s, ['-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)], (SECONDS + 300) * 1000);
  } finally {
    running = false;
    await sampler;
  }
  const end = await currentWal(s);
  const result: Record<string, unknown> = {
    ...parsePgbench(out),
    wal_mb: r1((end.lsn - start.lsn) / MB),
  };
  if (archiving) {
    const last = await sample(side, t0);
    // The last complete segment: the one before the segment being written.
    const lastComplete = segmentAt(end.segment.slice(0, 8), end.lsn - (end.lsn % segSize) - 1);
    const t1 = performance.now();
    await waitArchived(side, lastComplete);
    result['archive_lag_at_end'] = { ready_files: last.ready, lag_mb: last.lagMb };
    result['archive_lag_max'] = {
      ready_files: Math.max(...samples.map((x) => x.ready), last.ready),
      lag_mb: Math.max(...samples.map((x) => x.lagMb), last.lagMb),
    };
    result['drain_s'] = r3((performance.now() - t1) / 1000);
    result['lag_series_t_ready_mb'] = samples.map((x) => [x.t, x.ready, x.lagMb]);
  }
  return result;
}

async function tps(): Promise<Record<string, unknown>> {
  const runs: Record<string, Array<Record<string, unknown>>> = {
    pgherd_off: [],
    pgherd_on: [],
    pgbackrest_off: [],
    pgbackrest_on: [],
  };
  for (let rep = 0; rep < REPS; rep++) {
    // off/on alternate with on/off, so that table growth over the runs favours neither.
    const order = rep % 2 === 0 ? [false, true] : [true, false];
    for (const side of [pgherdSide, pgbrSide]) {
      for (const on of order) {
        log(`pgbench ${SECONDS} s, ${side.name}, archiving ${on ? 'on' : 'off'} (rep ${rep + 1}/${REPS})`);
        runs[`${side.name}_${on ? 'on' : 'off'}`]!.push(await tpsRun(side, on));
      }
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const tpsOf = (k: string): number => median(runs[k]!.map((r) => Number(r['tps'])));
  const out: Record<string, unknown> = { clients: CLIENTS, threads: 2, seconds: SECONDS, repetitions: REPS };
  for (const side of ['pgherd', 'pgbackrest']) {
    const off = tpsOf(`${side}_off`);
    const on = tpsOf(`${side}_on`);
    out[side] = {
      median_tps_off: r1(off),
      median_tps_on: r1(on),
      on_vs_off: r3(on / off),
      runs_off: runs[`${side}_off`],
      runs_on: runs[`${side}_on`],
    };
  }
  return out;
}

async function burst(side: Side): Promise<Record<string, unknown>> {
  const s = side.server;
  await side.setArchiving(true);
  await waitDrained(side);
  await psql(s, 'CREATE TABLE IF NOT EXISTS burst (id int, payload text)');
  side.repositoryReachable(false);
  let restored = false;
  try {
    const start = await currentWal(s);
    let now = start;
    const tGen = performance.now();
    while (now.lsn - start.lsn < BURST_MB * MB) {
      await psql(
        s,
        'INSERT INTO burst SELECT g, md5(random()::text) || md5(random()::text) FROM generate_series(1, 200000) g',
      );
      now = await currentWal(s);
    }
    const generateS = (performance.now() - tGen) / 1000;
    const last = now.segment;
    await psql(s, 'SELECT pg_switch_wal()');
    await until(
      `${last} to be ready for archiving`,
      async () => (readySegments(s.pgdata).includes(last) ? true : undefined),
      60_000,
    );
    const first = readySegments(s.pgdata)[0]!;
    const segments = segmentRange(first, last);
    const pendingMb = (segments.length * segSize) / MB;
    side.repositoryReachable(true);
    restored = true;
    const t0 = performance.now();
    let firstAt: number | undefined;
    const done = await until(
      `${side.name} to archive ${first}..${last}`,
      async () => {
        const have = side.archived();
        const n = segments.filter((x) => have.has(x)).length;
        if (n > 0 && firstAt === undefined) firstAt = performance.now();
        return n === segments.length ? have : undefined;
      },
      1_800_000,
      50,
    );
    const total = (performance.now() - t0) / 1000;
    const uploading = (performance.now() - (firstAt ?? t0)) / 1000;
    const storedMb = segments.reduce((a, x) => a + statSync(done.get(x)!).size, 0) / MB;
    return {
      wal_mb: pendingMb,
      segments: segments.length,
      generate_s: r3(generateS),
      catch_up_s: r3(total),
      mb_per_s: r1(pendingMb / total),
      first_segment_after_s: r3(total - uploading),
      uploading_s: r3(uploading),
      mb_per_s_while_uploading: r1(pendingMb / Math.max(uploading, 0.001)),
      stored_mb: r1(storedMb),
    };
  } finally {
    if (!restored) side.repositoryReachable(true);
  }
}

// ---------------------------------------------------------------------------------------------
// Run

async function cleanUp(): Promise<void> {
  for (const pgdata of [...plainServers]) await stopPlain(pgdata).catch(() => undefined);
  // pgBackRest's async archive-push / archive-get workers of this run (their command line names our config).
  for (const e of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(`--config=${brConf}`))
        process.kill(Number(e), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await destroyHome(home);
  // A control plane whose start `pgherd up` gave up on may come up after `pgherd down` ran and
  // before it wrote a pid file: end any process of this home, found by its command line.
  for (let i = 0; i < 3; i++) {
    let found = 0;
    for (const e of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
        const at = cmd.indexOf('--home');
        if (at >= 0 && cmd[at + 1] === home && isAlive(Number(e))) {
          process.kill(Number(e), 'SIGKILL');
          found++;
        }
      } catch {
        /* gone */
      }
    }
    if (found > 0) log(`killed ${found} leftover process(es) of ${home}`);
    await sleep(2000);
  }
  if (!opt.keep) rmSync(home, { recursive: true, force: true });
  if (!opt.keep) rmSync(root, { recursive: true, force: true });
  else log(`kept ${root} and ${home}`);
}

let cleaning: Promise<void> | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    cleaning ??= cleanUp();
    void cleaning.finally(() => process.exit(130));
  });
}

const result: Record<string, unknown> = {
  benchmark: 'backup',
  commit: (await exec('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])).out.trim(),
  pgbackrest: (await exec('pgbackrest', ['version'])).out.trim(),
  scale: SCALE,
  parallel: PARALLEL,
  // pgherd's lz4 writer in this build (liblz4 when `npm ci` built the binding).
  lz4_compressor: lz4Compressor(),
  unit: 'seconds, MB (MiB), TPS',
  setup: {
    pgherd:
      `1-instance Cluster, barmanObjectStore file:// (wal lz4, maxParallel ${PARALLEL}; data lz4|gzip, immediateCheckpoint); ` +
      '`pgherd backup --target primary` (wall time of the CLI, which returns when the end WAL is archived); restores are new ' +
      '1-instance Clusters with bootstrap.recovery, `pgherd apply` to `pgherd wait` (the new primary accepts writes).',
    pgbackrest:
      `plain PostgreSQL 15 with pgherd's initdb options and settings, same pgbench data; posix repo, process-max ${PARALLEL}, ` +
      'archive-async, compress-type lz4 (level 1) | gz (level 6, as pgherd), start-fast; restore into an empty folder ' +
      '(--archive-mode=off), then pg_ctl start and poll until txid_current() succeeds.',
    archiving_off:
      'pgherd: no barmanObjectStore (archive_command /bin/true); pgBackRest server: archive_command /bin/true',
    archive_lag:
      'WAL bytes from the oldest .ready segment (or the start of the current segment) to the current LSN, every 2 s; ' +
      'drain_s: after pgbench ends, until the last complete segment is in the repository',
    burst:
      'repository folder renamed away, WAL of random md5 rows written, folder renamed back; catch_up_s until every ' +
      'segment of the burst is in the repository; uploading_s from the first of them',
  },
};
const phase = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
  log(`${name}...`);
  const t0 = performance.now();
  try {
    result[name] = await fn();
  } catch (err) {
    log(`${name} failed: ${(err as Error).message}`);
    result[name] = { error: (err as Error).message.slice(0, 3000) };
  }
  log(`${name} took ${r1((performance.now() - t0) / 1000)} s`);
};

try {
  await phase('set_up', setUp);
  if (!('error' in (result['set_up'] as object))) {
    if (ONLY.has('base_backup') || ONLY.has('restore') || ONLY.has('pitr'))
      await phase('base_backup', backups);
    if (ONLY.has('restore')) await phase('restore', restores);
    if (ONLY.has('pitr')) await phase('pitr', pitr);
    if (ONLY.has('tps')) await phase('tps', tps);
    if (ONLY.has('burst'))
      await phase('burst', async () => {
        // --reps bursts per tool, alternating; the median of the overall catch-up rate.
        const a: Array<Record<string, unknown>> = [];
        const b: Array<Record<string, unknown>> = [];
        for (let rep = 0; rep < REPS; rep++) {
          a.push(await burst(pgherdSide));
          b.push(await burst(pgbrSide));
        }
        const withUploading = (runs: Array<Record<string, unknown>>): Record<string, unknown> => ({
          ...medianOf(runs, 'mb_per_s'),
          samples_mb_per_s_while_uploading: runs.map((r) => r['mb_per_s_while_uploading']),
        });
        return { burst_mb_requested: BURST_MB, pgherd: withUploading(a), pgbackrest: withUploading(b) };
      });
  }
} finally {
  cleaning ??= cleanUp();
  await cleaning;
}
console.log(JSON.stringify(result, null, 2));
