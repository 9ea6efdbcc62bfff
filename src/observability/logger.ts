/**
 * JSON-lines logging in CloudNativePG's shape (docs/src/logging.md): every line carries `level`
 * (a label from CNPG's logLevel vocabulary: error, warning, info, debug, trace), `ts` (ISO 8601),
 * `logger` (the component: instance-manager, postgres, wal-archive, ...), `msg`, and the
 * `cluster` / `instance` it concerns. Secret-named fields never reach the output: any field whose name says
 * password, secret, token, private key, pgpass or connection URI is replaced by "[REDACTED]", in
 * log objects and in bindings (use `child()` rather than `logger.child()`).
 */

import pino, { type DestinationStream, type Level, type Logger } from 'pino';

export type { Logger } from 'pino';

/** CNPG's `logLevel` values. */
export type LogLevel = 'error' | 'warning' | 'info' | 'debug' | 'trace';

/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

const PINO_LEVELS: Readonly<Record<LogLevel, Level>> = {
  error: 'error',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

/** pino's labels -> the labels written in `level` (CNPG's vocabulary; fatal is written as error). */
const OUTPUT_LABELS: Readonly<Record<string, LogLevel>> = {
  fatal: 'error',
  error: 'error',
  warn: 'warning',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

/** The pino level for a CNPG `logLevel` value. */
export function toPinoLevel(level: LogLevel): Level {
  return PINO_LEVELS[level];
}

/** True when `value` is one of CNPG's logLevel values. */
export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(PINO_LEVELS, value);
}

// Field names are compared after lower-casing and dropping everything but letters and digits,
// so `jdbc-uri`, `jdbcUri` and `JDBC_URI` are one rule. A name is secret when it is one of
// SECRET_FIELDS or ends with one of SECRET_SUFFIXES (bindPassword, AWS_SECRET_ACCESS_KEY,
// ACCESS_SESSION_TOKEN, superuserSecret, ...).
const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'pgpass',
  'uri',
  'jdbcuri',
  'fqdnuri',
  'fqdnjdbcuri',
  'sslkey',
  'authorization',
]);
const SECRET_SUFFIXES: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'secretkey',
  'secretaccesskey',
  'token',
  'privatekey',
  'keypem',
];
// `key` alone is a secret only under these parents (tls.key, ssl.key); elsewhere it is usually
// an object-store key or a map key that logs need.
const KEY_PARENTS: ReadonlySet<string> = new Set(['tls', 'ssl']);
const MAX_DEPTH = 8;

function normalize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function isSecretField(name: string, parent: string | undefined): boolean {
  const key = normalize(name);
  if (SECRET_FIELDS.has(key) || SECRET_SUFFIXES.some((suffix) => key.endsWith(suffix))) return true;
  return key === 'key' && parent !== undefined && KEY_PARENTS.has(normalize(parent));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** What a nested object or array deeper than MAX_DEPTH is replaced with (it is not inspected). */
export const TRUNCATED = '[TRUNCATED]';

function redactValue(
  value: unknown,
  parent: string | undefined,
  depth: number,
  seen: WeakSet<object>,
): unknown {
  const walkable = Array.isArray(value) || isPlainObject(value);
  if (!walkable) return value;
  // Too deep to inspect, or a cycle: drop it rather than risk printing a secret inside.
  if (depth >= MAX_DEPTH || seen.has(value)) return TRUNCATED;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, parent, depth + 1, seen));
  // A Kubernetes Secret (or anything shaped like one) keeps its keys but never its values.
  const isSecretObject = value['kind'] === 'Secret';
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (isSecretField(key, parent) || (isSecretObject && (key === 'data' || key === 'stringData'))) {
      out[key] = REDACTED;
    } else {
      out[key] = redactValue(item, key, depth + 1, seen);
    }
  }
  return out;
}

/**
 * A copy of `value` with secret-looking fields replaced by "[REDACTED]". Plain objects and arrays
 * are walked; deeper than 8 levels (or on a cycle) they become "[TRUNCATED]". Class instances
 * such as Errors are left as they are.
 */
export function redactSecrets<T>(value: T): T {
  return redactValue(value, undefined, 0, new WeakSet()) as T;
}

/** Options of createLogger. */
export interface LoggerOptions {
  /** Written as `logger` (CNPG's field): instance-manager, postgres, wal-archive, operator, ... */
  readonly component: string;
  readonly cluster?: string;
  readonly instance?: string;
  /** Minimum level (default info); 'silent' logs nothing. */
  readonly level?: LogLevel | 'silent';
  /** Where lines go: a pino destination or any stream with write(); default stdout. */
  readonly destination?: DestinationStream;
  /** Clock for `ts` (tests pin it). */
  readonly now?: () => Date;
}

/** Creates a JSON-lines logger (see the module comment for the line shape and redaction). */
export function createLogger(options: LoggerOptions): Logger {
  const now = options.now ?? (() => new Date());
  const base: Record<string, string> = { logger: options.component };
  if (options.cluster !== undefined) base['cluster'] = options.cluster;
  if (options.instance !== undefined) base['instance'] = options.instance;
  const level =
    options.level === undefined ? 'info' : options.level === 'silent' ? 'silent' : toPinoLevel(options.level);
  return pino(
    {
      level,
      base,
      messageKey: 'msg',
      errorKey: 'error',
      serializers: { error: pino.stdSerializers.err },
      timestamp: () => `,"ts":${JSON.stringify(now().toISOString())}`,
      formatters: {
        level: (label) => ({ level: OUTPUT_LABELS[label] ?? label }),
        bindings: (bindings) => redactSecrets(bindings),
        log: (object) => redactSecrets(object),
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * A child logger with extra bindings (e.g. `{ logger: 'pg_ctl' }` or `{ instance }`). A binding
 * that the parent already has is replaced, not repeated (pino's own child() would write the key
 * twice). Bindings are redacted like log objects.
 */
export function child(logger: Logger, bindings: Readonly<Record<string, unknown>>): Logger {
  const merged = redactSecrets({ ...logger.bindings(), ...bindings });
  const result = logger.child({});
  // Start from empty bindings so that each key appears once; setBindings appends to these.
  (result as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] = '';
  result.setBindings(merged);
  return result;
}

/** Logs `msg` at a CNPG level (warning -> pino's warn). */
export function logAt(logger: Logger, level: LogLevel, object: object, msg: string): void {
  logger[toPinoLevel(level)](object, msg);
}

/**
 * Logs one PostgreSQL record as CNPG does: `msg: "record"` with the csvlog-shaped record (see
 * postgres/log-record.ts), at the level derived from error_severity.
 */
export function logPostgresRecord(
  logger: Logger,
  entry: { readonly level: LogLevel; readonly record: Readonly<Record<string, unknown>> },
): void {
  logAt(logger, entry.level, { record: entry.record }, 'record');
}
