/**
 * The control plane <-> instance manager contract: HTTP paths served by every instance
 * manager and the payloads they return. Both sides import this file and nothing else of
 * each other (STYLE dependency rule 4).
 */

export const INSTANCE_PATHS = {
  /** GET: full PostgreSQL status (InstanceReport). Open, read-only. */
  status: '/pg/status',
  /** GET: liveness of the instance manager. */
  healthz: '/healthz',
  /** GET: 200 when PostgreSQL accepts connections (and a replica streams). */
  readyz: '/readyz',
  /** GET: trivial OK; peers call it for the primary isolation check (CNPG's /failsafe). */
  failsafe: '/failsafe',
  /** POST: reload PostgreSQL's configuration now. Control-plane client certificate only. */
  reload: '/pg/reload',
  /** POST: restart PostgreSQL (fast shutdown, start) to apply restart-only parameters. Control-plane client certificate only. */
  restart: '/pg/restart',
} as const;

/** Prefix of `primaryLost` when the primary's data directory is gone (no restart in place). */
export const DATA_LOST = 'PGHERD_INSTANCE_PRIMARY_DATA_LOST';

/** One row of pg_stat_replication as reported by a primary. */
export interface ReplicationInfo {
  applicationName: string;
  state: string;
  sentLsn: string | null;
  writeLsn: string | null;
  flushLsn: string | null;
  replayLsn: string | null;
  writeLag: string | null;
  flushLag: string | null;
  replayLag: string | null;
  syncState: string;
  syncPriority: number;
}

/** WAL archiving as an instance manager sees it (the WAL service's own figures). */
export interface ArchiverStats {
  lastArchivedWal: string | null;
  lastArchivedAt: string | null;
  lastFailedWal: string | null;
  lastFailedAt: string | null;
  lastError: string | null;
  /** Files PostgreSQL marked ready and the manager has not archived yet. */
  pendingFiles: number;
}

/** What GET /pg/status returns (CNPG's PostgresqlStatus, in camelCase). */
export interface InstanceReport {
  instance: string;
  cluster: string;
  /** Changes on every instance-manager start. */
  sessionId: string;
  managerPid: number;
  postmasterPid: number | null;
  /** Bootstrapping, Cloning, Starting, Running, Stopped, Failed. */
  phase: string;
  phaseReason: string;
  /** PostgreSQL answered the status queries. */
  isPostgresUp: boolean;
  isPrimary: boolean;
  ready: boolean;
  systemId: string | null;
  timelineId: number | null;
  currentLsn: string | null;
  receivedLsn: string | null;
  replayLsn: string | null;
  isWalReceiverActive: boolean;
  pendingRestart: boolean;
  replication: ReplicationInfo[];
  /** Seconds of replay lag as PostgreSQL sees it on a replica (now() - last replay timestamp). */
  replayLagSeconds: number | null;
  /**
   * WAL archiving as this instance's manager sees it (CNPG reports pg_stat_archiver): the
   * last archived and failed files, the last error, and how many ready files wait.
   */
  archiving?: ArchiverStats;
  /** Set while this primary's PostgreSQL is down awaiting the control plane's decision: why. */
  primaryLost?: string;
  error?: string;
}
