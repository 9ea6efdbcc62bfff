/**
 * Reads the instance's PostgreSQL status over the local unix socket as the superuser (peer
 * authentication), the way CNPG's instance manager fills PostgresqlStatus.
 */
import pg from 'pg';
import type { ReplicationInfo } from './contract.ts';

export interface LocalConnection {
  socketDir: string;
  port: number;
}

export interface ProbeResult {
  isPrimary: boolean;
  systemId: string;
  timelineId: number;
  currentLsn: string | null;
  receivedLsn: string | null;
  replayLsn: string | null;
  walReceiverStatus: string | null;
  pendingRestart: boolean;
  replayLagSeconds: number | null;
  replication: ReplicationInfo[];
}

/** A superuser client over the unix socket; the caller must `end()` it. */
export async function connectLocal(
  conn: LocalConnection,
  database = 'postgres',
  connectTimeoutMs = 3000,
): Promise<pg.Client> {
  const client = new pg.Client({
    host: conn.socketDir,
    port: conn.port,
    user: 'postgres',
    database,
    application_name: 'pgherd-instance-manager',
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: 10_000,
  });
  client.on('error', () => {
    /* a dropped connection surfaces as a failed query */
  });
  await client.connect();
  return client;
}

const STATUS_SQL = `
SELECT NOT pg_is_in_recovery() AS is_primary,
  (SELECT system_identifier::text FROM pg_control_system()) AS system_id,
  CASE WHEN pg_is_in_recovery()
    THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))
    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline_id,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,
  pg_last_wal_receive_lsn()::text AS received_lsn,
  pg_last_wal_replay_lsn()::text AS replay_lsn,
  (SELECT status FROM pg_stat_wal_receiver) AS wal_receiver_status,
  EXISTS (SELECT 1 FROM pg_settings WHERE pending_restart) AS pending_restart,
  CASE WHEN pg_is_in_recovery() THEN
    CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END
  END AS replay_lag_seconds`;

const REPLICATION_SQL = `
SELECT application_name, state, sent_lsn::text, write_lsn::text, flush_lsn::text, replay_lsn::text,
  write_lag::text, flush_lag::text, replay_lag::text, sync_state, sync_priority
FROM pg_stat_replication ORDER BY application_name`;

/** Runs the status queries on an open superuser connection. */
export async function probe(client: pg.Client): Promise<ProbeResult> {
  const r = await client.query(STATUS_SQL);
  const row = r.rows[0] as Record<string, unknown>;
  const isPrimary = row['is_primary'] === true;
  let replication: ReplicationInfo[] = [];
  if (isPrimary) {
    const rep = await client.query(REPLICATION_SQL);
    replication = rep.rows.map((x: Record<string, unknown>) => ({
      applicationName: String(x['application_name'] ?? ''),
      state: String(x['state'] ?? ''),
      sentLsn: (x['sent_lsn'] as string | null) ?? null,
      writeLsn: (x['write_lsn'] as string | null) ?? null,
      flushLsn: (x['flush_lsn'] as string | null) ?? null,
      replayLsn: (x['replay_lsn'] as string | null) ?? null,
      writeLag: (x['write_lag'] as string | null) ?? null,
      flushLag: (x['flush_lag'] as string | null) ?? null,
      replayLag: (x['replay_lag'] as string | null) ?? null,
      syncState: String(x['sync_state'] ?? ''),
      syncPriority: Number(x['sync_priority'] ?? 0),
    }));
  }
  const lag = row['replay_lag_seconds'];
  return {
    isPrimary,
    systemId: String(row['system_id']),
    timelineId: Number(row['timeline_id']),
    currentLsn: (row['current_lsn'] as string | null) ?? null,
    receivedLsn: (row['received_lsn'] as string | null) ?? null,
    replayLsn: (row['replay_lsn'] as string | null) ?? null,
    walReceiverStatus: (row['wal_receiver_status'] as string | null) ?? null,
    pendingRestart: row['pending_restart'] === true,
    replayLagSeconds: lag === null || lag === undefined ? null : Number(lag),
    replication,
  };
}
