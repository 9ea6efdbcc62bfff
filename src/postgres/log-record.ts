/**
 * Maps PostgreSQL 15 `jsonlog` lines (log_destination=jsonlog, one JSON object per line in
 * `<log_directory>/postgres.json`) to the record CloudNativePG logs for PostgreSQL: the csvlog
 * column names (log_time, user_name, ...), every value a string, absent fields as "". Users'
 * log pipelines written for CNPG keep working. Pure.
 */

/** Levels pgherd logs with (CNPG's `logLevel` vocabulary). */
export type PostgresLogLevel = 'error' | 'warning' | 'info' | 'debug';

/** One PostgreSQL log line, ready to be logged with `logger: "postgres"`. */
export interface PostgresLogEntry {
  readonly level: PostgresLogLevel;
  /** ISO 8601 time of the record (log_time converted), or log_time as PostgreSQL wrote it. */
  readonly ts: string;
  readonly msg: 'record';
  readonly record: Record<string, unknown>;
}

/**
 * csvlog column (CNPG record field) -> PostgreSQL 15 jsonlog key (src/backend/utils/error/jsonlog.c),
 * in csvlog column order. connection_from and location are composed from several keys.
 */
const FIELD_MAP: readonly (readonly [string, string | readonly string[]])[] = [
  ['log_time', 'timestamp'],
  ['user_name', 'user'],
  ['database_name', 'dbname'],
  ['process_id', 'pid'],
  ['connection_from', ['remote_host', 'remote_port']],
  ['session_id', 'session_id'],
  ['session_line_num', 'line_num'],
  ['command_tag', 'ps'],
  ['session_start_time', 'session_start'],
  ['virtual_transaction_id', 'vxid'],
  ['transaction_id', 'txid'],
  ['error_severity', 'error_severity'],
  ['sql_state_code', 'state_code'],
  ['message', 'message'],
  ['detail', 'detail'],
  ['hint', 'hint'],
  ['internal_query', 'internal_query'],
  ['internal_query_pos', 'internal_position'],
  ['context', 'context'],
  ['query', 'statement'],
  ['query_pos', 'cursor_position'],
  ['location', ['func_name', 'file_name', 'file_line_num']],
  ['application_name', 'application_name'],
  ['backend_type', 'backend_type'],
  ['leader_pid', 'leader_pid'],
  ['query_id', 'query_id'],
];

/** Every jsonlog key PostgreSQL 15 can write (the int test checks real output against this). */
export const JSONLOG_KEYS: ReadonlySet<string> = new Set(
  FIELD_MAP.flatMap(([, source]) => (typeof source === 'string' ? [source] : [...source])),
);

/** error_severity -> level. DEBUG1..DEBUG5 are matched by prefix. */
const SEVERITY_LEVELS: Readonly<Record<string, PostgresLogLevel>> = {
  DEBUG: 'debug',
  LOG: 'info',
  INFO: 'info',
  NOTICE: 'info',
  WARNING: 'warning',
  ERROR: 'error',
  FATAL: 'error',
  PANIC: 'error',
};

/** The log level for a PostgreSQL error_severity (unknown severities log as info). */
export function levelForSeverity(severity: string): PostgresLogLevel {
  const key = severity.startsWith('DEBUG') ? 'DEBUG' : severity;
  return SEVERITY_LEVELS[key] ?? 'info';
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value);
}

// log_time as PostgreSQL writes it: "2024-05-01 10:11:12.345 GMT" (zone = log_timezone).
const LOG_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d{1,6})? (UTC|GMT|Z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * Converts a PostgreSQL log timestamp to ISO 8601 UTC. Only zones with a fixed meaning are
 * converted (UTC, GMT — the default log_timezone — and numeric offsets); an abbreviation such
 * as "CET" is ambiguous, so undefined is returned.
 */
export function logTimeToIso(logTime: string): string | undefined {
  const match = LOG_TIME.exec(logTime);
  if (match === null) return undefined;
  const [, date, time, fraction = '', zone = ''] = match;
  let offset = 'Z';
  if (zone.startsWith('+') || zone.startsWith('-')) {
    const digits = zone.replace(':', '');
    offset = `${digits.slice(0, 3)}:${digits.length > 3 ? digits.slice(3) : '00'}`;
  }
  const ms = fraction === '' ? '' : fraction.slice(0, 4).padEnd(4, '0');
  const parsed = new Date(`${date}T${time}${ms}${offset}`);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}

function connectionFrom(json: Record<string, unknown>): string {
  const host = text(json['remote_host']);
  const port = text(json['remote_port']);
  if (host === '') return '';
  return port === '' ? host : `${host}:${port}`;
}

function location(json: Record<string, unknown>): string {
  const file = text(json['file_name']);
  if (file === '') return '';
  const func = text(json['func_name']);
  const where = `${file}:${text(json['file_line_num'])}`;
  return func === '' ? where : `${func}, ${where}`;
}

/**
 * Maps one jsonlog line to a log entry, or undefined when the line is not a jsonlog record
 * (blank, not JSON, or without error_severity). Keys this module does not know (a newer
 * PostgreSQL) are kept under their own names so nothing is lost.
 */
export function fromJsonLog(line: string): PostgresLogEntry | undefined {
  if (line.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const json = parsed as Record<string, unknown>;
  if (typeof json['error_severity'] !== 'string') return undefined;

  const record: Record<string, unknown> = {};
  for (const [field, source] of FIELD_MAP) {
    if (field === 'connection_from') record[field] = connectionFrom(json);
    else if (field === 'location') record[field] = location(json);
    else if (typeof source === 'string') record[field] = text(json[source]);
  }
  for (const [key, value] of Object.entries(json)) {
    if (!JSONLOG_KEYS.has(key) && !(key in record)) record[key] = value;
  }
  const logTime = text(json['timestamp']);
  return {
    level: levelForSeverity(json['error_severity']),
    ts: logTimeToIso(logTime) ?? logTime,
    msg: 'record',
    record,
  };
}
