/**
 * Proves that the certificates (tls/certificates.ts), the rendered postgresql.conf, pg_hba.conf
 * and pg_ident.conf (postgres/configuration.ts) and the jsonlog mapping (postgres/log-record.ts)
 * work together on a real PostgreSQL 15: TLS 1.3 with verify-full, scram for applications,
 * certificate-only replication, no superuser and no plain TCP over the network.
 * PostgreSQL runs as the `postgres` OS user when the test runs as root.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  renderPgHba,
  renderPgIdent,
  renderPostgresqlConf,
  renderStandbyConf,
} from '../postgres/configuration.ts';
import { buildConninfo, buildPgpassLine, buildUri } from '../postgres/conninfo.ts';
import { fromJsonLog, JSONLOG_KEYS } from '../postgres/log-record.ts';
import { createCa, issueClientCertificate, issueServerCertificate, type KeyPairPem } from './certificates.ts';

const BIN_DIR = process.env['PGHERD_PG_BINDIR'] ?? '/usr/lib/postgresql/15/bin';
// Every character that needs escaping in a URI, a conninfo string or a .pgpass line.
const APP_PASSWORD = "a:b@c/d?e#f%g&h=i 'j' \\k+l";
const SUPERUSER_PASSWORD = 'superuser-password';
// A custom parameter whose value needs both escapes postgresql.conf has.
const TRICKY_VALUE = `it's a \\ back\\\\slash "and" quotes`;

interface OsUser {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
}

/** The OS user PostgreSQL runs as: `postgres` when we are root, else ourselves. */
function postgresOsUser(): OsUser {
  if (process.getuid?.() !== 0) {
    return {
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      name: execFileSync('id', ['-un']).toString().trim(),
    };
  }
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid, name: 'postgres' };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

const os = postgresOsUser();
const asRoot = process.getuid?.() === 0;
let root = '';
let dataDir = '';
let logDir = '';
let socketDir = '';
let port = 0;
let ca: KeyPairPem;
let replication: KeyPairPem;
let rogueReplication: KeyPairPem;
let primaryConninfo = '';

function path(...parts: string[]): string {
  return join(root, ...parts);
}

/** Creates a directory owned by the postgres OS user, mode 0700. */
function ownedDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (asRoot) chownSync(dir, os.uid, os.gid);
  return dir;
}

/** Writes a file owned by the postgres OS user. */
function ownedFile(file: string, content: string, mode = 0o600): void {
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  if (asRoot) chownSync(file, os.uid, os.gid);
}

/** Runs a PostgreSQL program as the postgres OS user; throws with its output on failure. */
function runPg(program: string, args: string[]): string {
  const result = spawnSync(join(BIN_DIR, program), args, {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' },
    encoding: 'utf8',
    timeout: 90_000,
    ...(asRoot ? { uid: os.uid, gid: os.gid } : {}),
  });
  if (result.status !== 0) {
    throw new Error(
      `${program} ${args.join(' ')} failed (${result.status}): ${result.stdout}${result.stderr}`,
      {
        cause: result.error,
      },
    );
  }
  return result.stdout;
}

function tlsClient(config: pg.ClientConfig & { replication?: string | boolean }): pg.Client {
  return new pg.Client({
    host: '127.0.0.1',
    port,
    database: 'postgres',
    connectionTimeoutMillis: 10_000,
    ...config,
  });
}

/** A fresh ssl object per client: pg makes `key` non-enumerable on the object it is given. */
function verifyFull(
  extra: { cert?: string; key?: string; servername?: string } = {},
): pg.ClientConfig['ssl'] {
  return { ca: ca.certPem, servername: 'localhost', rejectUnauthorized: true, ...extra };
}

async function withClient<T>(client: pg.Client, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Connects as the superuser over the unix socket (peer auth, map `local`). */
function superuserClient(): pg.Client {
  return new pg.Client({ host: socketDir, port, user: 'postgres', database: 'postgres' });
}

async function connectError(client: pg.Client): Promise<Error & { code?: string }> {
  try {
    await client.connect();
  } catch (error) {
    return error as Error & { code?: string };
  }
  await client.end();
  throw new Error('connection succeeded but should have been refused');
}

function stopPostgres(): void {
  if (dataDir === '' || !existsSync(join(dataDir, 'postmaster.pid'))) return;
  try {
    runPg('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30']);
  } catch {
    // pg_ctl failed: signal the postmaster recorded in postmaster.pid (never by process name).
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGQUIT');
  }
}

beforeAll(async () => {
  // Short, traversable-but-not-listable root: the socket path must stay under 107 bytes and
  // postgres must be able to reach its folders inside a root-owned directory.
  root = mkdtempSync('/tmp/pgherd-tls-');
  chmodSync(root, 0o711);
  dataDir = ownedDir(path('data'));
  logDir = ownedDir(path('log'));
  socketDir = ownedDir(path('run'));
  const certDir = ownedDir(path('certs'));
  port = await freePort();

  const now = new Date();
  ca = await createCa({ commonName: 'pgherd-test-ca', now });
  const server = await issueServerCertificate({
    ca,
    commonName: 'pgherd-test-rw',
    dnsNames: ['localhost', 'pgherd-test-rw'],
    ipAddresses: ['127.0.0.1'],
    now,
  });
  replication = await issueClientCertificate({ ca, commonName: 'streaming_replica', now });
  const rogueCa = await createCa({ commonName: 'rogue-ca', now });
  rogueReplication = await issueClientCertificate({ ca: rogueCa, commonName: 'streaming_replica', now });
  ownedFile(join(certDir, 'server.crt'), server.certPem, 0o644);
  ownedFile(join(certDir, 'server.key'), server.keyPem, 0o600);
  ownedFile(join(certDir, 'client-ca.crt'), ca.certPem, 0o644);

  runPg('initdb', [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
    '--no-instructions',
  ]);

  primaryConninfo = buildConninfo({
    host: 'pgherd-test-rw',
    port: 5432,
    user: 'streaming_replica',
    application_name: 'pgherd-test-2',
    sslmode: 'verify-full',
    sslkey: "/path with 'quote'/tls.key",
  });
  const hbaFile = join(dataDir, 'pg_hba.conf');
  const identFile = join(dataDir, 'pg_ident.conf');
  const standbyConfFile = join(dataDir, 'override.conf');
  ownedFile(
    join(dataDir, 'postgresql.conf'),
    renderPostgresqlConf({
      clusterName: 'pgherd-test',
      instanceName: 'pgherd-test-1',
      port,
      listenAddresses: '127.0.0.1',
      socketDir,
      logDir,
      certs: {
        serverCertFile: join(certDir, 'server.crt'),
        serverKeyFile: join(certDir, 'server.key'),
        caFile: join(certDir, 'client-ca.crt'),
      },
      userParameters: { max_connections: '30', shared_buffers: '16MB', 'pgherd.note': TRICKY_VALUE },
      hbaFile,
      identFile,
      standbyConfFile,
    }),
  );
  // On a primary the standby settings are inert (no standby.signal); including them here proves
  // that PostgreSQL parses the quoting of primary_conninfo back to the original string.
  ownedFile(standbyConfFile, renderStandbyConf({ primaryConninfo, primarySlotName: 'pgherd_test_2' }));
  ownedFile(hbaFile, renderPgHba({ userRules: [], localOsUser: os.name }));
  const localOsUsers = asRoot ? ['root', 'postgres'] : [os.name];
  ownedFile(identFile, renderPgIdent({ localOsUsers, userRules: [] }));

  runPg('pg_ctl', ['start', '-D', dataDir, '-w', '-t', '60', '-l', join(logDir, 'startup.log')]);

  await withClient(superuserClient(), async (c) => {
    await c.query(`CREATE ROLE app LOGIN PASSWORD ${c.escapeLiteral(APP_PASSWORD)}`);
    await c.query('CREATE ROLE streaming_replica LOGIN REPLICATION');
    await c.query(`ALTER ROLE postgres PASSWORD ${c.escapeLiteral(SUPERUSER_PASSWORD)}`);
  });
});

afterAll(() => {
  stopPostgres();
  if (root !== '') rmSync(root, { recursive: true, force: true });
});

describe('a PostgreSQL 15 instance configured by pgherd', () => {
  it('accepts an application role with scram over TLS 1.3 when the client verifies the server name', async () => {
    const row = await withClient(
      tlsClient({ user: 'app', password: APP_PASSWORD, ssl: verifyFull() }),
      async (c) =>
        (await c.query('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0] as {
          ssl: boolean;
          version: string;
        },
    );
    expect(row).toEqual({ ssl: true, version: 'TLSv1.3' });
    const stored = await withClient(superuserClient(), async (c) => {
      const result = await c.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'");
      return String(result.rows[0]?.rolpassword);
    });
    expect(stored.startsWith('SCRAM-SHA-256$')).toBe(true);
  });

  it('fails TLS verification when the client expects a host name the certificate does not carry', async () => {
    const error = await connectError(
      tlsClient({ user: 'app', password: APP_PASSWORD, ssl: verifyFull({ servername: 'other.example' }) }),
    );
    expect(error.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('lets libpq (psql) log in with the URI, keyword/value string and .pgpass line pgherd builds', () => {
    const caFile = path('client-ca-for-psql.crt');
    writeFileSync(caFile, ca.certPem, { mode: 0o600 });
    const pgpassFile = path('pgpass');
    writeFileSync(pgpassFile, `${buildPgpassLine('127.0.0.1', port, 'postgres', 'app', APP_PASSWORD)}\n`, {
      mode: 0o600,
    });
    const tls = { sslmode: 'verify-full', sslrootcert: caFile };
    const targets: [string, Record<string, string>][] = [
      [
        buildUri({
          user: 'app',
          password: APP_PASSWORD,
          host: '127.0.0.1',
          port,
          dbname: 'postgres',
          params: tls,
        }),
        {},
      ],
      [
        buildConninfo({
          host: '127.0.0.1',
          port,
          user: 'app',
          password: APP_PASSWORD,
          dbname: 'postgres',
          ...tls,
        }),
        {},
      ],
      [
        buildConninfo({ host: '127.0.0.1', port, user: 'app', dbname: 'postgres', ...tls }),
        { PGPASSFILE: pgpassFile },
      ],
    ];
    for (const [target, env] of targets) {
      const result = spawnSync(
        join(BIN_DIR, 'psql'),
        ['-X', '-A', '-t', '-w', '-d', target, '-c', 'SELECT current_user'],
        {
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PGCONNECT_TIMEOUT: '10', ...env },
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      expect(result.stderr, target).toBe('');
      expect(result.stdout.trim(), target).toBe('app');
    }
  });

  it('refuses a client that does not use TLS', async () => {
    const error = await connectError(tlsClient({ user: 'app', password: APP_PASSWORD, ssl: false }));
    expect(error.message).toMatch(
      /pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "app".*no encryption/,
    );
  });

  it('refuses the superuser over the network even with the right password', async () => {
    const error = await connectError(
      tlsClient({ user: 'postgres', password: SUPERUSER_PASSWORD, ssl: verifyFull() }),
    );
    expect(error.message).toMatch(/pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "postgres"/);
  });

  it('lets streaming_replica run IDENTIFY_SYSTEM with its client certificate, physical and database-bound', async () => {
    for (const mode of [true, 'database'] as const) {
      const row = await withClient(
        tlsClient({
          user: 'streaming_replica',
          replication: mode,
          ssl: verifyFull({ cert: replication.certPem, key: replication.keyPem }),
        }),
        async (c) =>
          (await c.query('IDENTIFY_SYSTEM')).rows[0] as {
            systemid: string;
            timeline: number;
            dbname: string | null;
          },
      );
      expect(row.systemid).toMatch(/^\d+$/);
      expect(Number(row.timeline)).toBe(1);
      expect(row.dbname).toBe(mode === 'database' ? 'postgres' : null);
    }
  });

  it('refuses streaming_replica without a client certificate', async () => {
    const error = await connectError(
      tlsClient({ user: 'streaming_replica', replication: true, ssl: verifyFull() }),
    );
    expect(error.message).toBe('connection requires a valid client certificate');
  });

  it('refuses a streaming_replica certificate signed by another CA', async () => {
    const error = await connectError(
      tlsClient({
        user: 'streaming_replica',
        replication: true,
        ssl: verifyFull({ cert: rogueReplication.certPem, key: rogueReplication.keyPem }),
      }),
    );
    // The server rejects the handshake itself (TLS alert 48, unknown CA) before any login.
    expect(error.code).toBe('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
  });

  it('reads back quoted values and applies the settings pgherd fixes', async () => {
    const settings = await withClient(superuserClient(), async (c) => {
      const names = [
        'pgherd.note',
        'primary_conninfo',
        'primary_slot_name',
        'recovery_target_timeline',
        'ssl',
        'ssl_min_protocol_version',
        'ssl_max_protocol_version',
        'password_encryption',
        'log_destination',
        'logging_collector',
        'unix_socket_permissions',
        'restart_after_crash',
        'archive_mode',
        'hot_standby',
        'max_connections',
        'wal_level',
        'shared_preload_libraries',
      ];
      const result = await c.query('SELECT name, setting FROM pg_settings WHERE name = ANY($1)', [names]);
      const custom = await c.query("SELECT current_setting('pgherd.note') AS value");
      const map: Record<string, string> = Object.fromEntries(result.rows.map((r) => [r.name, r.setting]));
      map['pgherd.note'] = custom.rows[0].value;
      const hbaErrors = await c.query(
        'SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL',
      );
      const identErrors = await c.query(
        'SELECT line_number, error FROM pg_ident_file_mappings WHERE error IS NOT NULL',
      );
      return { map, hbaErrors: hbaErrors.rows, identErrors: identErrors.rows };
    });
    expect(settings.hbaErrors).toEqual([]);
    expect(settings.identErrors).toEqual([]);
    expect(settings.map).toEqual({
      'pgherd.note': TRICKY_VALUE,
      primary_conninfo: primaryConninfo,
      primary_slot_name: 'pgherd_test_2',
      recovery_target_timeline: 'latest',
      ssl: 'on',
      ssl_min_protocol_version: 'TLSv1.3',
      ssl_max_protocol_version: 'TLSv1.3',
      password_encryption: 'scram-sha-256',
      log_destination: 'jsonlog',
      logging_collector: 'on',
      unix_socket_permissions: '0700',
      restart_after_crash: 'off',
      archive_mode: 'off',
      hot_standby: 'on',
      max_connections: '30',
      wal_level: 'logical',
      shared_preload_libraries: '',
    });
  });

  it('writes jsonlog to <logDir>/postgres.json, owner-only, and every line maps to a CNPG record', async () => {
    await withClient(tlsClient({ user: 'app', password: APP_PASSWORD, ssl: verifyFull() }), async (c) => {
      await expect(c.query('SELECT * FROM pgherd_missing_table')).rejects.toThrow(/does not exist/);
    });
    const file = join(logDir, 'postgres.json');
    let lines: string[] = [];
    for (let attempt = 0; attempt < 100; attempt++) {
      lines = existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
        : [];
      if (lines.some((l) => l.includes('pgherd_missing_table'))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stat = statSync(file);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(stat.uid).toBe(os.uid);
    expect(readdirSync(logDir).sort()).toEqual(['postgres', 'postgres.json', 'startup.log']);

    const unknownKeys = new Set<string>();
    const entries = lines.map((line) => {
      for (const key of Object.keys(JSON.parse(line) as object))
        if (!JSONLOG_KEYS.has(key)) unknownKeys.add(key);
      const entry = fromJsonLog(line);
      expect(entry, line).toBeDefined();
      return entry!;
    });
    expect([...unknownKeys]).toEqual([]);
    for (const entry of entries) expect(entry.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const failed = entries.find((e) => e.record['query'] === 'SELECT * FROM pgherd_missing_table');
    expect(failed).toMatchObject({
      level: 'error',
      msg: 'record',
      record: {
        error_severity: 'ERROR',
        sql_state_code: '42P01',
        user_name: 'app',
        database_name: 'postgres',
        message: 'relation "pgherd_missing_table" does not exist',
        query_pos: '15',
        backend_type: 'client backend',
        command_tag: 'SELECT',
      },
    });
    expect(failed?.record['connection_from']).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(failed?.record['process_id']).toMatch(/^\d+$/);

    const refused = entries.find(
      (e) =>
        e.record['error_severity'] === 'FATAL' && String(e.record['message']).includes('user "postgres"'),
    );
    expect(refused?.level).toBe('error');
    expect(refused?.record['sql_state_code']).toBe('28000');
  });
});
