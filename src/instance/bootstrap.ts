/**
 * Creating an instance's data: `initdb` and the post-init SQL for the first primary (CNPG's
 * initdb job), `pg_basebackup` from the primary for the others (CNPG's join job).
 */
import { mkdirSync, rmSync } from 'node:fs';
import pg from 'pg';
import type { ClusterResource } from '../api/index.ts';
import { quoteIdent, quoteLiteral } from '../lib/quote.ts';
import { buildConninfo } from '../postgres/conninfo.ts';
import type { PgTools } from './pg-tools.ts';
import { connectLocal, type LocalConnection } from './probe.ts';
import type { CertificateFiles } from './secrets.ts';

export interface InitdbInput {
  pgdata: string;
  walDir: string | undefined;
  spec: ClusterResource['spec'];
}

/**
 * Replaces `path` with an empty folder owned by PostgreSQL's account: the folders above it
 * belong to pgherd, so PostgreSQL's tools could not create it themselves.
 */
export function recreateEmptyDir(tools: PgTools, path: string): void {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true, mode: 0o700 });
  tools.chownToPg(path);
}

/** Runs initdb with the cluster's bootstrap.initdb options into fresh, empty folders. */
export async function runInitdb(tools: PgTools, input: InitdbInput, signal?: AbortSignal): Promise<void> {
  recreateEmptyDir(tools, input.pgdata);
  if (input.walDir !== undefined) recreateEmptyDir(tools, input.walDir);
  const init = input.spec.bootstrap?.initdb;
  const args = [
    '-D',
    input.pgdata,
    '--username=postgres',
    '--auth-local=peer',
    '--auth-host=reject',
    `--encoding=${init?.encoding ?? 'UTF8'}`,
    `--lc-collate=${init?.localeCollate ?? 'C'}`,
    `--lc-ctype=${init?.localeCType ?? 'C'}`,
  ];
  if (init?.dataChecksums === true) args.push('--data-checksums');
  if (init?.walSegmentSize !== undefined) args.push(`--wal-segsize=${init.walSegmentSize}`);
  if (input.walDir !== undefined) args.push(`--waldir=${input.walDir}`);
  await tools.run('initdb', args, signal ? { signal } : {});
}

export interface PostInitInput {
  conn: LocalConnection;
  spec: ClusterResource['spec'];
  appUsername: string;
  appPassword: string;
  /** Superuser password when enableSuperuserAccess, else undefined (password removed). */
  superuserPassword: string | undefined;
}

/**
 * CNPG's order: postInitSQL in `postgres`, postInitTemplateSQL in `template1`, then the
 * application owner and database, then postInitApplicationSQL in the application database.
 * Passwords are sent as literals with statement logging off for the session.
 */
const REWIND_FUNCTIONS = [
  'pg_ls_dir(text, boolean, boolean)',
  'pg_stat_file(text, boolean)',
  'pg_read_binary_file(text)',
  'pg_read_binary_file(text, bigint, bigint, boolean)',
];

export async function runPostInit(input: PostInitInput): Promise<void> {
  const init = input.spec.bootstrap?.initdb;
  const database = init?.database ?? 'app';
  const owner = init?.owner ?? database;
  const admin = await connectLocal(input.conn, 'postgres');
  try {
    await admin.query("SET log_statement = 'none'; SET log_min_error_statement = 'panic'");
    await admin.query('CREATE ROLE streaming_replica WITH LOGIN REPLICATION');
    // What pg_rewind needs on its source server (CNPG grants the same): a former primary
    // rewinds from the new one as streaming_replica.
    for (const fn of REWIND_FUNCTIONS) {
      await admin.query(`GRANT EXECUTE ON FUNCTION pg_catalog.${fn} TO streaming_replica`);
    }
    for (const sql of init?.postInitSQL ?? []) await runUserSql(admin, sql, 'postInitSQL', 'postgres');
    if ((init?.postInitTemplateSQL ?? []).length > 0) {
      const tpl = await connectLocal(input.conn, 'template1');
      try {
        for (const sql of init?.postInitTemplateSQL ?? [])
          await runUserSql(tpl, sql, 'postInitTemplateSQL', 'template1');
      } finally {
        await tpl.end().catch(() => {});
      }
    }
    const roleExists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [owner]);
    const verb = roleExists.rowCount === 0 ? 'CREATE' : 'ALTER';
    await admin.query(
      `${verb} ROLE ${quoteIdent(owner)} WITH LOGIN PASSWORD ${quoteLiteral(input.appPassword)}`,
    );
    const dbExists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (dbExists.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(owner)}`);
    }
    if (input.superuserPassword !== undefined) {
      await admin.query(`ALTER ROLE postgres WITH PASSWORD ${quoteLiteral(input.superuserPassword)}`);
    } else {
      await admin.query('ALTER ROLE postgres WITH PASSWORD NULL');
    }
  } finally {
    await admin.end().catch(() => {});
  }
  if ((init?.postInitApplicationSQL ?? []).length > 0) {
    const app = await connectLocal(input.conn, database);
    try {
      for (const sql of init?.postInitApplicationSQL ?? [])
        await runUserSql(app, sql, 'postInitApplicationSQL', database);
    } finally {
      await app.end().catch(() => {});
    }
  }
}

export interface PostRecoveryInput {
  conn: LocalConnection;
  database: string;
  owner: string;
  appPassword: string;
  superuserPassword: string | undefined;
}

/**
 * After bootstrap.recovery (CNPG applies database, owner and secret once the server is
 * promoted): what pgherd needs of a server it did not create, made idempotent — the data may
 * come from a pgherd or CNPG cluster (these exist) or from any PostgreSQL barman backed up.
 */
export async function runPostRecovery(input: PostRecoveryInput): Promise<void> {
  const admin = await connectLocal(input.conn, 'postgres');
  try {
    await admin.query("SET log_statement = 'none'; SET log_min_error_statement = 'panic'");
    const replica = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'streaming_replica'");
    await admin.query(
      `${replica.rowCount === 0 ? 'CREATE' : 'ALTER'} ROLE streaming_replica WITH LOGIN REPLICATION`,
    );
    for (const fn of REWIND_FUNCTIONS) {
      await admin.query(`GRANT EXECUTE ON FUNCTION pg_catalog.${fn} TO streaming_replica`);
    }
    const roleExists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [input.owner]);
    await admin.query(
      `${roleExists.rowCount === 0 ? 'CREATE' : 'ALTER'} ROLE ${quoteIdent(input.owner)} WITH LOGIN PASSWORD ${quoteLiteral(input.appPassword)}`,
    );
    const dbExists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [input.database]);
    if (dbExists.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${quoteIdent(input.database)} OWNER ${quoteIdent(input.owner)}`);
    }
    await admin.query(
      input.superuserPassword !== undefined
        ? `ALTER ROLE postgres WITH PASSWORD ${quoteLiteral(input.superuserPassword)}`
        : 'ALTER ROLE postgres WITH PASSWORD NULL',
    );
  } finally {
    await admin.end().catch(() => {});
  }
}

async function runUserSql(client: pg.Client, sql: string, field: string, db: string): Promise<void> {
  try {
    await client.query(sql);
  } catch (err) {
    throw new Error(
      `PGHERD_INSTANCE_POSTINIT_SQL: bootstrap.initdb.${field} failed in database "${db}": ${(err as Error).message} (statement: ${sql.slice(0, 200)})`,
      { cause: err },
    );
  }
}

export interface JoinInput {
  pgdata: string;
  walDir: string | undefined;
  primary: { host: string; port: number };
  instanceName: string;
  slotName: string | undefined;
  certs: CertificateFiles;
  /**
   * verify-full against 127.0.0.1 (pgherd's certificates carry it); false for a server
   * certificate the user brought, which need not: then verify-ca, as CNPG's replicas use.
   */
  verifyHost: boolean;
}

/** libpq connection string a replica uses to reach the primary: certificate auth, verified TLS. */
export function replicationConninfo(
  input: Pick<JoinInput, 'primary' | 'instanceName' | 'certs' | 'verifyHost'>,
): string {
  return buildConninfo({
    host: input.primary.host,
    port: input.primary.port,
    user: 'streaming_replica',
    dbname: 'postgres',
    application_name: input.instanceName,
    sslmode: input.verifyHost ? 'verify-full' : 'verify-ca',
    sslcert: input.certs.replicationCert,
    sslkey: input.certs.replicationKey,
    sslrootcert: input.certs.serverCa,
    connect_timeout: 5,
    keepalives: 1,
    keepalives_idle: 5,
    keepalives_interval: 2,
    keepalives_count: 3,
    tcp_user_timeout: 5000,
  });
}

/** A connection to the primary as streaming_replica with its certificate (verified TLS). */
async function connectAsReplica(
  input: Pick<JoinInput, 'primary' | 'certs' | 'verifyHost'>,
  readFile: (p: string) => string,
  extra: Partial<pg.ClientConfig> & { replication?: string },
): Promise<pg.Client> {
  const client = new pg.Client({
    host: input.primary.host,
    port: input.primary.port,
    user: 'streaming_replica',
    database: 'postgres',
    connectionTimeoutMillis: 5000,
    ...extra,
    ssl: {
      ca: readFile(input.certs.serverCa),
      cert: readFile(input.certs.replicationCert),
      key: readFile(input.certs.replicationKey),
      ...(input.verifyHost ? {} : { checkServerIdentity: () => undefined }),
    },
  } as pg.ClientConfig);
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Drops the instance's replication slot on the primary if it exists (an earlier clone's). */
export async function dropSlotOnPrimary(input: JoinInput, readFile: (p: string) => string): Promise<void> {
  if (input.slotName === undefined) return;
  const client = await connectAsReplica(input, readFile, { replication: 'database' });
  try {
    await client.query(`DROP_REPLICATION_SLOT ${quoteIdent(input.slotName)}`);
  } catch (err) {
    // 42704: the slot does not exist, which is what we want.
    if ((err as { code?: string }).code !== '42704') throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Clones the primary with pg_basebackup into an empty data directory. */
export async function runBaseBackup(tools: PgTools, input: JoinInput, signal?: AbortSignal): Promise<void> {
  recreateEmptyDir(tools, input.pgdata);
  if (input.walDir !== undefined) recreateEmptyDir(tools, input.walDir);
  const args = [
    '-D',
    input.pgdata,
    '-d',
    replicationConninfo(input),
    '-X',
    'stream',
    '--checkpoint=fast',
    '--no-password',
  ];
  if (input.slotName !== undefined) args.push('-C', '-S', input.slotName);
  if (input.walDir !== undefined) args.push(`--waldir=${input.walDir}`);
  await tools.run('pg_basebackup', args, signal ? { signal } : {});
}

/**
 * Rewinds a former primary onto the new primary's timeline with pg_rewind, connecting as
 * streaming_replica (the post-init SQL grants it the file functions pg_rewind needs). A target
 * that crashed is first recovered by pg_rewind itself (single-user mode).
 */
export async function runRewind(
  tools: PgTools,
  input: Pick<JoinInput, 'pgdata' | 'primary' | 'instanceName' | 'certs' | 'verifyHost'>,
  signal?: AbortSignal,
): Promise<string> {
  const result = await tools.run(
    'pg_rewind',
    [`--target-pgdata=${input.pgdata}`, `--source-server=${replicationConninfo(input)}`, '--progress'],
    signal ? { signal } : {},
  );
  return `${result.stdout}\n${result.stderr}`.trim();
}

/** An HA slot as the primary keeps it. */
export interface PrimarySlot {
  slotName: string;
  restartLsn: string | null;
}

/**
 * The primary's HA replication slots (names starting with `prefix`), read as streaming_replica
 * over TLS (pg_replication_slots is readable by any role): the standbys mirror them so that the
 * slots follow a failover.
 */
export async function readPrimarySlots(
  input: Pick<JoinInput, 'primary' | 'certs' | 'verifyHost'>,
  prefix: string,
  readFile: (p: string) => string,
): Promise<PrimarySlot[]> {
  const client = await connectAsReplica(input, readFile, { statement_timeout: 5000 });
  try {
    const r = await client.query<{ slot_name: string; restart_lsn: string | null }>(
      "SELECT slot_name, restart_lsn::text FROM pg_replication_slots WHERE slot_type = 'physical' AND starts_with(slot_name, $1)",
      [prefix],
    );
    return r.rows.map((x) => ({ slotName: x.slot_name, restartLsn: x.restart_lsn }));
  } finally {
    await client.end().catch(() => {});
  }
}
