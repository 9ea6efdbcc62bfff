/**
 * postgresql.conf and standby include-file rendering, layered like CloudNativePG's
 * (pkg/postgres/configuration.go): DEFAULT_PARAMETERS -> the user's `postgresql.parameters` ->
 * the parameters pgherd owns. The output is the whole file (pgherd never edits initdb's), every
 * value goes through quoteConfValue and every name is checked, so no input can add a line.
 * pg_hba.conf / pg_ident.conf rendering lives in hba.ts and is re-exported here. Pure.
 */

import { quoteConfValue } from '../lib/quote.ts';
import { GENERATED_HEADER } from './hba.ts';
import { isValidParameterName, isValidReplicationSlotName } from './identifiers.ts';
import { checkUserParameter, DEFAULT_PARAMETERS } from './parameters.ts';

export type { PgHbaInput, PgIdentInput } from './hba.ts';
export { checkHbaRule, checkIdentRule, GENERATED_HEADER, renderPgHba, renderPgIdent } from './hba.ts';

/** `wal_level` values. */
export type WalLevel = 'minimal' | 'replica' | 'logical';

/** Everything renderPostgresqlConf needs to know about one instance. */
export interface PostgresqlConfInput {
  readonly clusterName: string;
  /** Only used in the header comment (the file is per instance). */
  readonly instanceName: string;
  readonly port: number;
  /** `listen_addresses`, e.g. '127.0.0.1'. */
  readonly listenAddresses: string;
  /** Absolute directory for the unix socket; the socket path must fit in 107 bytes. */
  readonly socketDir: string;
  /** Where the logging collector writes `postgres.json` (and `postgres` for raw stderr). */
  readonly logDir: string;
  readonly certs: {
    readonly serverCertFile: string;
    /** Owned by the postgres OS user with mode 0600, or root:postgres 0640 (PostgreSQL refuses anything looser). */
    readonly serverKeyFile: string;
    /** CA that signs client certificates (`ssl_ca_file`). */
    readonly caFile: string;
  };
  /** The user's `spec.postgresql.parameters`. Fixed or blocked names throw. */
  readonly userParameters: Readonly<Record<string, string>>;
  /** `synchronous_standby_names`; '' (asynchronous) when absent. */
  readonly syncStandbyNames?: string;
  /** When set and non-empty, `archive_mode=on` with this command; otherwise `archive_mode=off`. */
  readonly archiveCommand?: string;
  readonly hbaFile: string;
  readonly identFile: string;
  /** The wal_level pgherd chose (replaces the default; the user may still override). */
  readonly walLevel?: WalLevel;
  /**
   * File that renderStandbyConf output is written to; included with `include_if_exists` so a
   * primary simply has no such file. Omit to render no include.
   */
  readonly standbyConfFile?: string;
}

/** pgherd's own defaults, applied after DEFAULT_PARAMETERS and before the user's parameters. */
const PGHERD_DEFAULTS: Readonly<Record<string, string>> = {
  max_wal_senders: '10',
};

/** Parameters pgherd owns that parameters.ts does not list as fixed or blocked. */
const OWNED_BY_PGHERD: ReadonlySet<string> = new Set(['password_encryption']);

// sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;

/** The socket file path PostgreSQL creates for `port` in `socketDir`. */
export function socketPath(socketDir: string, port: number): string {
  return `${socketDir.replace(/\/+$/, '')}/.s.PGSQL.${port}`;
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** A `# ...` comment line; refuses text that could end the comment and start a setting. */
function comment(text: string): string {
  if (/[\0\n\r]/.test(text)) throw new Error('a postgresql.conf comment cannot contain a line break or NUL');
  return `# ${text}`;
}

function setting(name: string, value: string): string {
  if (!isValidParameterName(name))
    throw new Error(`invalid PostgreSQL parameter name ${JSON.stringify(name)}`);
  return `${name} = ${quoteConfValue(value)}`;
}

function sortedSettings(values: ReadonlyMap<string, string>): string[] {
  return [...values.keys()].sort().map((name) => setting(name, values.get(name) ?? ''));
}

function assertAbsolute(path: string, what: string): void {
  if (!path.startsWith('/')) throw new Error(`${what} must be an absolute path, got ${JSON.stringify(path)}`);
}

/** Lower-cases and checks the user's parameters; collects every refusal into one error. */
function userParameterMap(parameters: Readonly<Record<string, string>>): Map<string, string> {
  const result = new Map<string, string>();
  const problems: string[] = [];
  for (const [rawName, value] of Object.entries(parameters)) {
    const name = rawName.toLowerCase();
    if (!isValidParameterName(rawName)) {
      problems.push(`${JSON.stringify(rawName)} is not a valid parameter name`);
      continue;
    }
    const refusal = checkUserParameter(name) ?? (OWNED_BY_PGHERD.has(name) ? 'fixed' : undefined);
    if (refusal !== undefined) {
      problems.push(`${name} is ${refusal === 'fixed' ? 'managed by pgherd' : 'not allowed'}`);
      continue;
    }
    if (result.has(name)) {
      problems.push(`${name} is given twice (parameter names are case-insensitive)`);
      continue;
    }
    result.set(name, value);
  }
  if (problems.length > 0) throw new Error(`refusing postgresql.parameters: ${problems.join('; ')}`);
  return result;
}

/** The parameters pgherd always sets (CNPG's mandatory set, adapted to one machine). */
function fixedParameters(input: PostgresqlConfInput): Map<string, string> {
  const archiving = input.archiveCommand !== undefined && input.archiveCommand !== '';
  return new Map<string, string>([
    ['archive_mode', archiving ? 'on' : 'off'],
    ['archive_command', archiving ? (input.archiveCommand ?? '') : ''],
    ['cluster_name', input.clusterName],
    ['hba_file', input.hbaFile],
    ['hot_standby', 'on'],
    ['ident_file', input.identFile],
    ['listen_addresses', input.listenAddresses],
    ['log_destination', 'jsonlog'],
    ['log_directory', input.logDir],
    ['log_file_mode', '0600'],
    ['log_filename', 'postgres'],
    ['log_rotation_age', '0'],
    ['log_rotation_size', '0'],
    ['log_truncate_on_rotation', 'off'],
    ['logging_collector', 'on'],
    ['password_encryption', 'scram-sha-256'],
    ['port', String(input.port)],
    ['restart_after_crash', 'off'],
    ['shared_preload_libraries', ''],
    ['ssl', 'on'],
    ['ssl_ca_file', input.certs.caFile],
    ['ssl_cert_file', input.certs.serverCertFile],
    ['ssl_key_file', input.certs.serverKeyFile],
    ['ssl_max_protocol_version', 'TLSv1.3'],
    ['ssl_min_protocol_version', 'TLSv1.3'],
    ['synchronous_standby_names', input.syncStandbyNames ?? ''],
    ['unix_socket_directories', input.socketDir],
    ['unix_socket_permissions', '0700'],
  ]);
}

function checkInput(input: PostgresqlConfInput): void {
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) {
    throw new Error(`invalid port ${input.port}`);
  }
  for (const [what, path] of [
    ['socketDir', input.socketDir],
    ['logDir', input.logDir],
    ['hbaFile', input.hbaFile],
    ['identFile', input.identFile],
    ['certs.serverCertFile', input.certs.serverCertFile],
    ['certs.serverKeyFile', input.certs.serverKeyFile],
    ['certs.caFile', input.certs.caFile],
  ] as const) {
    assertAbsolute(path, what);
  }
  // unix_socket_directories is a comma-separated list of optionally double-quoted entries: a
  // comma or quote in the path would split or truncate it.
  if (/[,"]/.test(input.socketDir)) throw new Error('socketDir must not contain a comma or double quote');
  const path = socketPath(input.socketDir, input.port);
  if (byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(
      `unix socket path ${path} is ${byteLength(path)} bytes; the limit is ${MAX_SOCKET_PATH_BYTES}: use a shorter socket directory`,
    );
  }
}

/**
 * Renders the complete postgresql.conf of one instance. Throws (listing every problem) when a
 * user parameter is fixed, blocked or misnamed, when a value holds a line break or NUL, when a
 * path is relative, the socket path too long, or wal_level=minimal meets archiving or WAL senders.
 */
export function renderPostgresqlConf(input: PostgresqlConfInput): string {
  checkInput(input);
  const user = userParameterMap(input.userParameters);
  const merged = new Map<string, string>([
    ...Object.entries(DEFAULT_PARAMETERS),
    ...Object.entries(PGHERD_DEFAULTS),
  ]);
  if (input.walLevel !== undefined) merged.set('wal_level', input.walLevel);
  if (input.walLevel === 'minimal') merged.set('max_wal_senders', '0');
  for (const [name, value] of user) merged.set(name, value);
  const fixed = fixedParameters(input);
  for (const name of fixed.keys()) merged.delete(name);

  // PostgreSQL refuses to start with these combinations; failing here names the cause.
  if (merged.get('wal_level') === 'minimal') {
    if (fixed.get('archive_mode') === 'on')
      throw new Error('wal_level=minimal cannot be used with WAL archiving');
    if (merged.get('max_wal_senders') !== '0')
      throw new Error('wal_level=minimal requires max_wal_senders=0');
  }

  const lines = [
    GENERATED_HEADER,
    comment(`cluster ${input.clusterName}, instance ${input.instanceName}`),
    '# layers: defaults -> spec.postgresql.parameters -> fixed by pgherd',
    '',
    '# defaults and spec.postgresql.parameters',
    ...sortedSettings(merged),
    '',
    '# fixed by pgherd',
    ...sortedSettings(fixed),
  ];
  if (input.standbyConfFile !== undefined) {
    assertAbsolute(input.standbyConfFile, 'standbyConfFile');
    lines.push('', '# standby settings (renderStandbyConf); absent on a primary');
    lines.push(`include_if_exists ${quoteConfValue(input.standbyConfFile)}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Settings that make an instance follow a primary. */
export interface StandbyConfInput {
  /** libpq connection string to the primary (build it with buildConninfo). */
  readonly primaryConninfo: string;
  /** Physical replication slot on the primary; must be a valid slot name. */
  readonly primarySlotName?: string;
  /** Command that fetches archived WAL (`%f`, `%p`), for catching up from the archive. */
  readonly restoreCommand?: string;
}

/**
 * Renders the standby include file (CNPG's override.conf): primary_conninfo,
 * primary_slot_name, restore_command. recovery_target_timeline is left at PostgreSQL's default
 * ('latest'): it needs a restart to change, so writing it only while a standby would leave a
 * promoted primary with a pending restart for nothing (and a rolling restart chasing it). These settings only take effect while
 * the server is in standby mode, which requires an empty `standby.signal` file in PGDATA; the
 * caller creates (or removes, to promote) that file separately.
 */
export function renderStandbyConf(input: StandbyConfInput): string {
  const lines = [GENERATED_HEADER, '# standby settings; effective only while PGDATA/standby.signal exists'];
  lines.push(setting('primary_conninfo', input.primaryConninfo));
  if (input.primarySlotName !== undefined) {
    if (!isValidReplicationSlotName(input.primarySlotName)) {
      throw new Error(`invalid replication slot name ${JSON.stringify(input.primarySlotName)}`);
    }
    lines.push(setting('primary_slot_name', input.primarySlotName));
  }
  if (input.restoreCommand !== undefined) lines.push(setting('restore_command', input.restoreCommand));
  lines.push('');
  return lines.join('\n');
}

/** CNPG's recoveryTarget, as PostgreSQL settings take it. */
export interface RecoveryTargetInput {
  targetTime?: string | undefined;
  targetLSN?: string | undefined;
  targetXID?: string | undefined;
  targetName?: string | undefined;
  targetImmediate?: boolean | undefined;
  targetTLI?: string | undefined;
  exclusive?: boolean | undefined;
}

/**
 * The recovery settings that go in postgresql.conf: restore_command only (reloadable; the
 * post-recovery reload replaces it). The target settings are postmaster-only: see
 * recoveryTargetSettings.
 */
export function renderRecoveryConf(input: { restoreCommand: string }): string {
  return [
    GENERATED_HEADER,
    '# recovery from an archive; effective only while PGDATA/recovery.signal exists',
    setting('restore_command', input.restoreCommand),
    '',
  ].join('\n');
}

/**
 * The recovery target as postmaster-only settings, given on the command line of the recovery
 * run (`postgres -c name=value`) rather than in postgresql.conf: PostgreSQL promotes and goes
 * on as the new primary without a restart, and a file without them then reloads cleanly (in
 * the file they would leave parameters "pending restart"). They act only while
 * recovery.signal exists; the next start of the server does not have them.
 */
export function recoveryTargetSettings(target: RecoveryTargetInput | undefined): Array<[string, string]> {
  const t = target ?? {};
  const out: Array<[string, string]> = [];
  // Only when asked: the default is PostgreSQL's own ('latest').
  if (t.targetTLI !== undefined) out.push(['recovery_target_timeline', t.targetTLI]);
  const stop: readonly [string, string] | undefined =
    t.targetImmediate === true
      ? ['recovery_target', 'immediate']
      : t.targetTime !== undefined
        ? ['recovery_target_time', t.targetTime]
        : t.targetLSN !== undefined
          ? ['recovery_target_lsn', t.targetLSN]
          : t.targetXID !== undefined
            ? ['recovery_target_xid', t.targetXID]
            : t.targetName !== undefined
              ? ['recovery_target_name', t.targetName]
              : undefined;
  if (stop !== undefined) {
    out.push([stop[0], stop[1]]);
    if (stop[0] !== 'recovery_target')
      out.push(['recovery_target_inclusive', t.exclusive === true ? 'off' : 'on']);
    out.push(['recovery_target_action', 'promote']);
  }
  return out;
}
