/**
 * PostgreSQL parameters as CloudNativePG treats them (pkg/postgres/configuration.go):
 * which ones the operator owns (fixed), which can never be set (blocked), and the defaults
 * that apply before the user's `postgresql.parameters`. Rules as data, not chains of `if`.
 */

/** Parameters whose value the operator owns; a user value is refused (CNPG's "fixed" list). */
export const FIXED_PARAMETERS: ReadonlySet<string> = new Set([
  'archive_mode',
  'archive_command',
  'cluster_name',
  'port',
  'primary_conninfo',
  'primary_slot_name',
  'recovery_target',
  'recovery_target_action',
  'recovery_target_inclusive',
  'recovery_target_lsn',
  'recovery_target_name',
  'recovery_target_time',
  'recovery_target_timeline',
  'recovery_target_xid',
  'restore_command',
  'shared_preload_libraries',
  'temp_tablespaces',
  'synchronous_standby_names',
  'synchronized_standby_slots',
  'pg_failover_slots.primary_dsn',
  'pg_failover_slots.standby_slot_names',
]);

/** Prefixes of fixed parameters (every `ssl*` setting is the operator's). */
export const FIXED_PARAMETER_PREFIXES: readonly string[] = ['ssl'];

/** Parameters that can never be set, by anyone (CNPG's "blocked" list). */
export const BLOCKED_PARAMETERS: ReadonlySet<string> = new Set([
  // Directives, not settings: a value would pull another file's settings (blocked ones too)
  // into the configuration.
  'include',
  'include_dir',
  'include_if_exists',
  'allow_alter_system',
  'allow_system_table_mods',
  'archive_cleanup_command',
  'config_file',
  'data_directory',
  'data_sync_retry',
  'event_source',
  'external_pid_file',
  'hba_file',
  'hot_standby',
  'ident_file',
  'jit_provider',
  'listen_addresses',
  'logging_collector',
  'log_destination',
  'log_directory',
  'log_file_mode',
  'log_filename',
  'log_rotation_age',
  'log_rotation_size',
  'log_truncate_on_rotation',
  'promote_trigger_file',
  'recovery_end_command',
  'recovery_min_apply_delay',
  'restart_after_crash',
  'stats_temp_directory',
]);

/** Prefixes of blocked parameters. */
export const BLOCKED_PARAMETER_PREFIXES: readonly string[] = ['bonjour', 'syslog_', 'unix_socket_'];

/** Why a user parameter is refused, or undefined when it may be set. */
export function checkUserParameter(name: string): 'fixed' | 'blocked' | undefined {
  const key = name.toLowerCase();
  if (BLOCKED_PARAMETERS.has(key) || BLOCKED_PARAMETER_PREFIXES.some((p) => key.startsWith(p))) {
    return 'blocked';
  }
  if (FIXED_PARAMETERS.has(key) || FIXED_PARAMETER_PREFIXES.some((p) => key.startsWith(p))) return 'fixed';
  return undefined;
}

/**
 * Defaults applied before the user's parameters (CNPG's global defaults that mean something on
 * one machine). The user may override any of these.
 */
export const DEFAULT_PARAMETERS: Readonly<Record<string, string>> = {
  archive_timeout: '5min',
  dynamic_shared_memory_type: 'posix',
  full_page_writes: 'on',
  max_parallel_workers: '32',
  max_worker_processes: '32',
  max_replication_slots: '32',
  shared_memory_type: 'mmap',
  wal_keep_size: '512MB',
  wal_level: 'logical',
  wal_log_hints: 'on',
  wal_sender_timeout: '5s',
  wal_receiver_timeout: '5s',
  password_encryption: 'scram-sha-256',
};

/**
 * Parameters that need a postmaster restart to change (context = postmaster). Used to decide
 * between a reload and a restart when `postgresql.parameters` changes.
 */
export const RESTART_PARAMETERS: ReadonlySet<string> = new Set([
  'max_connections',
  'shared_buffers',
  'max_worker_processes',
  'max_parallel_workers',
  'max_replication_slots',
  'max_wal_senders',
  'max_prepared_transactions',
  'max_locks_per_transaction',
  'max_pred_locks_per_transaction',
  'wal_level',
  'wal_buffers',
  'wal_log_hints',
  'huge_pages',
  'shared_memory_type',
  'dynamic_shared_memory_type',
  'track_commit_timestamp',
  'wal_decode_buffer_size',
  'max_files_per_process',
  'autovacuum_max_workers',
  'old_snapshot_threshold',
]);
