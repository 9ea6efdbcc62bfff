/**
 * barman-cloud interoperability in both directions, against a real S3-protocol server (issue #5):
 * a PostgreSQL 15 that archives and backs up with Debian's barman-cli-cloud 3.4 is recovered by
 * pgherd (to the end of its archive, and to a time), and a pgherd cluster's continuous archive
 * and `pgherd backup` are restored by barman-cloud-restore and replayed by
 * barman-cloud-wal-restore. Either way, the rows are the proof.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/backup/stores/s3-store.ts';
import { appClient, createHome, destroyHome, eventually, pgherdOk } from '../harness/home.ts';
import { startS3, type TestS3 } from '../harness/s3.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const BUCKET = 'interop';
const run = promisify(execFile);
const haveBarman = ['backup', 'restore', 'wal-archive', 'wal-restore', 'backup-list'].every((t) =>
  existsSync(`/usr/bin/barman-cloud-${t}`),
);
if (!haveBarman && process.env['CI'] === 'true') {
  throw new Error('barman-cli-cloud is not installed: scripts/setup.sh installs it for CI');
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A PostgreSQL 15 run outside pgherd, as the `postgres` OS user; the child is the postmaster. */
interface PlainServer {
  pgdata: string;
  socketDir: string;
  port: number;
  logFile: string;
  child: ReturnType<typeof spawn>;
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

/**
 * Starts `postgres -D pgdata` as the postgres user with `settings` on its command line, on a
 * free port, unix socket only; `track` receives the child at once so afterAll can stop it even
 * when the start fails.
 */
async function startPostgres(
  pgdata: string,
  socketDir: string,
  settings: Record<string, string>,
  track: (s: PlainServer) => void,
): Promise<PlainServer> {
  const { uid, gid } = await postgresIds();
  const port = await freePort();
  const logFile = join(socketDir, 'postgres.log');
  const logFd = openSync(logFile, 'a');
  const args = ['-D', pgdata, '-p', String(port)];
  const all = {
    unix_socket_directories: socketDir,
    listen_addresses: '',
    logging_collector: 'off',
    log_destination: 'stderr',
    ...settings,
  };
  for (const [k, v] of Object.entries(all)) args.push('-c', `${k}=${v}`);
  // A home of its own: boto must not wander into root's.
  const child = spawn(`${BIN}/postgres`, args, {
    stdio: ['ignore', logFd, logFd],
    uid,
    gid,
    cwd: '/',
    env: { PATH: '/usr/bin:/bin', HOME: socketDir, LANG: 'C.UTF-8' },
  });
  const server = { pgdata, socketDir, port, logFile, child };
  track(server);
  return server;
}

/** Stops a server started here: fast shutdown, then SIGKILL to the same pid. */
async function stopPostgres(s: PlainServer): Promise<void> {
  const pid = s.child.pid;
  if (pid === undefined || s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  process.kill(pid, 'SIGINT');
  const timer = setTimeout(() => {
    if (s.child.exitCode === null && s.child.signalCode === null) process.kill(pid, 'SIGKILL');
  }, 30_000);
  await exited;
  clearTimeout(timer);
}

async function connect(s: PlainServer, database = 'postgres', user = 'postgres'): Promise<pg.Client> {
  const c = new pg.Client({ host: s.socketDir, port: s.port, user, database });
  c.on('error', () => {});
  try {
    await c.connect();
  } catch (err) {
    await c.end().catch(() => {});
    throw err;
  }
  return c;
}

/** Runs `sql` on the server; with `whenPrimary`, only once it has left recovery (else undefined). */
async function queryWhenUp<T>(
  s: PlainServer,
  sql: string,
  database: string,
  whenPrimary: boolean,
): Promise<T | undefined> {
  let c: pg.Client;
  try {
    c = await connect(s, database);
  } catch {
    return undefined;
  }
  try {
    if (whenPrimary) {
      const rec = await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      if (rec.rows[0]!.r) return undefined;
    }
    return (await c.query(sql)).rows[0] as T;
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => {});
  }
}

/** `eventually`, with the tail of the server's log in the error. */
function withLog<T>(s: PlainServer, p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    throw new Error(
      `${(err as Error).message}; postgres said: ${readFileSync(s.logFile, 'utf8').slice(-3000)}`,
    );
  });
}

/** A barman-cloud tool, asynchronously: s3rver answers from this very process. */
async function barman(s3: TestS3, tool: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(`/usr/bin/barman-cloud-${tool}`, ['--endpoint-url', s3.endpoint, ...args], {
      env: { PATH: '/usr/bin:/bin', ...awsEnv(s3) },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`barman-cloud-${tool} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

function awsEnv(s3: TestS3): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
  };
}

/** The environment prefix a PostgreSQL command line (archive/restore_command) runs barman with. */
function awsEnvPrefix(s3: TestS3): string {
  return `env ${Object.entries(awsEnv(s3))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;
}

/** Object keys in the bucket below `prefix`. */
async function keysIn(s3: TestS3, prefix: string): Promise<string[]> {
  const store = new S3ObjectStore({
    bucket: BUCKET,
    prefix: '',
    endpoint: s3.endpoint,
    credentials: s3.credentials,
  });
  return (await store.list(prefix)).map((o) => o.key);
}

async function count(home: string, cluster: string): Promise<number> {
  const r = await pgherdOk(home, ['psql', cluster, '--', '-d', 'app', '-Atc', 'SELECT count(*) FROM t']);
  return Number(r.stdout.trim());
}

function s3Secret(s3: TestS3): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: s3-creds
stringData:
  ACCESS_KEY_ID: ${s3.credentials.accessKeyId}
  ACCESS_SECRET_KEY: ${s3.credentials.secretAccessKey}
`;
}

/** A barmanObjectStore on s3rver, indented for `indent` spaces. */
function objectStore(s3: TestS3, path: string, indent: number, extra = ''): string {
  const pad = ' '.repeat(indent);
  return `${[
    `destinationPath: s3://${BUCKET}/${path}`,
    `endpointURL: ${s3.endpoint}`,
    's3Credentials:',
    '  accessKeyId:',
    '    name: s3-creds',
    '    key: ACCESS_KEY_ID',
    '  secretAccessKey:',
    '    name: s3-creds',
    '    key: ACCESS_SECRET_KEY',
    ...extra.split('\n').filter((l) => l !== ''),
  ]
    .map((l) => pad + l)
    .join('\n')}\n`;
}

const isRoot = process.getuid?.() === 0;

describe.runIf(haveBarman && isRoot)('barman-cloud interoperability over S3', () => {
  let home: string;
  let scratch: string;
  let s3: TestS3;
  const servers: PlainServer[] = [];
  const track = (s: PlainServer): void => {
    servers.push(s);
  };
  /** A folder the postgres user owns. */
  const pgDir = async (name: string): Promise<string> => {
    const dir = join(scratch, name);
    mkdirSync(dir, { recursive: true });
    const { uid, gid } = await postgresIds();
    await run('chown', ['-R', `${uid}:${gid}`, dir]);
    return dir;
  };

  beforeAll(async () => {
    home = createHome();
    scratch = mkdtempSync('/tmp/pgherd-interop-');
    // The postgres user passes through to its own folders.
    await run('chmod', ['0711', scratch]);
    s3 = await startS3(join(scratch, 's3'), [BUCKET]);
    writeFileSync(join(home, 's3-creds.yaml'), s3Secret(s3));
    await pgherdOk(home, ['up', '-f', join(home, 's3-creds.yaml')]);
  });
  afterAll(async () => {
    for (const s of servers) await stopPostgres(s);
    await destroyHome(home);
    await s3.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('recovers a PostgreSQL that barman-cloud archived and backed up: all of it with a standby, and up to a time', async () => {
    const destination = `s3://${BUCKET}/legacy`;
    const serverName = 'pg15';
    const pgdata = join(await pgDir('legacy'), 'pgdata');
    const run1 = await pgDir('legacy-run');
    const { uid, gid } = await postgresIds();
    await run(`${BIN}/initdb`, ['-D', pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'], {
      uid,
      gid,
      cwd: '/',
    });
    // In postgresql.conf, as its administrator wrote it: pgherd must not keep archiving there.
    writeFileSync(
      join(pgdata, 'postgresql.conf'),
      `${readFileSync(join(pgdata, 'postgresql.conf'), 'utf8')}
wal_level = replica
archive_mode = on
archive_command = '${awsEnvPrefix(s3)} /usr/bin/barman-cloud-wal-archive -z --endpoint-url ${s3.endpoint} ${destination} ${serverName} %p'
`,
    );
    const legacy = await startPostgres(pgdata, run1, {}, track);
    await withLog(
      legacy,
      eventually(
        'the legacy server to answer',
        () => queryWhenUp(legacy, 'SELECT 1', 'postgres', true),
        30_000,
      ),
    );
    const admin = await connect(legacy);
    await admin.query('CREATE ROLE app LOGIN');
    await admin.query('CREATE DATABASE app OWNER app');
    await admin.end();
    const db = await connect(legacy, 'app', 'app');
    await db.query('CREATE TABLE t (id int primary key, at timestamptz default clock_timestamp())');
    await db.query('INSERT INTO t (id) SELECT g FROM generate_series(1, 1000) g');

    const backup = await barman(s3, 'backup', [
      '-z',
      '--immediate-checkpoint',
      '-h',
      run1,
      '-p',
      String(legacy.port),
      '-U',
      'postgres',
      destination,
      serverName,
    ]);
    const listed = JSON.parse(
      (await barman(s3, 'backup-list', ['--format', 'json', destination, serverName])).stdout,
    ) as { backups_list: Array<{ backup_id: string; status: string }> };
    expect(
      listed.backups_list.map((b) => b.status),
      backup.stderr,
    ).toEqual(['DONE']);

    await db.query('INSERT INTO t (id) SELECT g FROM generate_series(1001, 2000) g');
    const mark = await db.query<{ t: string }>(
      `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`,
    );
    const targetTime = mark.rows[0]!.t;
    await new Promise((r) => setTimeout(r, 1100));
    await db.query('INSERT INTO t (id) SELECT g FROM generate_series(2001, 3000) g');
    const last = (await db.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0]!
      .f;
    await db.end();
    const sw = await connect(legacy);
    await sw.query('SELECT pg_switch_wal()');
    await sw.end();
    await withLog(
      legacy,
      eventually(
        `barman-cloud-wal-archive to archive ${last}`,
        async () => {
          const r = await queryWhenUp<{ w: string | null }>(
            legacy,
            'SELECT last_archived_wal AS w FROM pg_stat_archiver',
            'postgres',
            false,
          );
          return r?.w != null && r.w.slice(0, 24) >= last ? true : undefined;
        },
        60_000,
      ),
    );
    expect((await keysIn(s3, `legacy/${serverName}/wals/`)).some((k) => k.endsWith(`/${last}.gz`))).toBe(
      true,
    );

    const external = `  externalClusters:\n    - name: legacy\n      barmanObjectStore:\n${objectStore(s3, 'legacy', 8, `serverName: ${serverName}\nwal:\n  maxParallel: 4`)}`;
    const recovered = (
      name: string,
      instances: number,
      target: string,
    ): string => `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: ${name}
spec:
  instances: ${instances}
  storage:
    size: 1Gi
  bootstrap:
    recovery:
      source: legacy
${target}${external}`;
    writeFileSync(
      join(home, 'from-barman.yaml'),
      `${recovered('whole', 2, '')}---\n${recovered(
        'bytime',
        1,
        `      recoveryTarget:\n        targetTime: "${targetTime}"\n`,
      )}`,
    );
    await pgherdOk(home, ['apply', '-f', join(home, 'from-barman.yaml')]);
    await pgherdOk(home, ['wait', 'whole', '--timeout', '240s']);
    await pgherdOk(home, ['wait', 'bytime', '--timeout', '120s']);
    expect(await count(home, 'whole')).toBe(3000);
    expect(await count(home, 'bytime')).toBe(2000);

    const st = JSON.parse((await pgherdOk(home, ['get', 'cluster', 'whole', '-o', 'json'])).stdout) as {
      status: { readyInstances?: number };
    };
    expect(st.status.readyInstances).toBe(2);
    // The standby was cloned from the recovered primary: the application reads its rows there.
    const ro = await appClient(home, 'whole', 'whole-ro');
    try {
      expect((await ro.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r).toBe(true);
      expect((await ro.query<{ n: string }>('SELECT count(*)::text AS n FROM t')).rows[0]!.n).toBe('3000');
    } finally {
      await ro.end();
    }
    // Neither recovered cluster archived its new timeline into the legacy server's archive.
    expect((await keysIn(s3, `legacy/${serverName}/wals/`)).filter((k) => k.endsWith('.history'))).toEqual(
      [],
    );
  }, 600_000);

  it('writes an archive and a `pgherd backup` that barman-cloud-restore and barman-cloud-wal-restore bring back', async () => {
    writeFileSync(
      join(home, 'to-barman.yaml'),
      `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: src
spec:
  instances: 2
  storage:
    size: 1Gi
  backup:
    barmanObjectStore:
${objectStore(s3, 'pgherd', 6, 'wal:\n  compression: gzip\n  maxParallel: 4\ndata:\n  compression: gzip\n  immediateCheckpoint: true')}`,
    );
    await pgherdOk(home, ['up', '-f', join(home, 'to-barman.yaml')]);
    const app = await appClient(home, 'src', 'src-rw');
    await app.query('CREATE TABLE t (id int primary key)');
    await app.query('INSERT INTO t (id) SELECT g FROM generate_series(1, 1000) g');
    await pgherdOk(home, ['backup', 'src', '--backup-name', 'for-barman']);
    const b = JSON.parse((await pgherdOk(home, ['get', 'backup', 'for-barman', '-o', 'json'])).stdout) as {
      status: { phase: string; backupId: string };
    };
    expect(b.status.phase).toBe('completed');
    await app.query('INSERT INTO t (id) SELECT g FROM generate_series(1001, 2000) g');
    const last = (await app.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f'))
      .rows[0]!.f;
    await app.end();
    await pgherdOk(home, ['psql', 'src', '--', '-Atc', 'SELECT pg_switch_wal()']);
    await eventually(
      `${last} archived`,
      async () =>
        (await keysIn(s3, 'pgherd/src/wals/')).some((k) => k.endsWith(`/${last}.gz`)) ? true : undefined,
      60_000,
    );

    const destination = `s3://${BUCKET}/pgherd`;
    const listed = JSON.parse(
      (await barman(s3, 'backup-list', ['--format', 'json', destination, 'src'])).stdout,
    ) as {
      backups_list: Array<{ backup_id: string; status: string }>;
    };
    expect(listed.backups_list).toEqual([
      expect.objectContaining({ backup_id: b.status.backupId, status: 'DONE' }),
    ]);
    const dest = join(await pgDir('restored'), 'pgdata');
    const r = await barman(s3, 'restore', [destination, 'src', b.status.backupId, dest]);
    expect(r.stderr + r.stdout).toBe('');
    writeFileSync(join(dest, 'recovery.signal'), '');
    const { uid, gid } = await postgresIds();
    await run('chown', ['-R', `${uid}:${gid}`, dest]);
    await run('chmod', ['0700', dest]);
    const restored = await startPostgres(
      dest,
      await pgDir('restored-run'),
      {
        // pgherd's postgresql.conf names its own instance's files, as CNPG's does: this copy
        // must not lean on a live pgherd instance.
        hba_file: join(dest, 'pg_hba.conf'),
        ident_file: join(dest, 'pg_ident.conf'),
        ssl: 'off',
        archive_mode: 'off',
        synchronous_standby_names: '',
        restore_command: `${awsEnvPrefix(s3)} /usr/bin/barman-cloud-wal-restore --endpoint-url ${s3.endpoint} ${destination} src %f %p`,
      },
      track,
    );
    const rows = await withLog(
      restored,
      eventually(
        'the restored server to finish recovery and answer',
        () => queryWhenUp<{ n: string }>(restored, 'SELECT count(*)::text AS n FROM t', 'app', true),
        120_000,
      ),
    );
    expect(rows.n).toBe('2000');
  }, 600_000);
});
