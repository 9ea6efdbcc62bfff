/**
 * Connection strings in the shapes PostgreSQL clients read: libpq keyword/value strings
 * (primary_conninfo, psql), postgresql:// URIs and JDBC URLs (the `uri` / `jdbc-uri` keys of
 * CNPG's `<cluster>-app` secret) and ~/.pgpass lines. Values are escaped for their format, so a
 * password with quotes, spaces, `@`, `:` or `/` round-trips; a value the format cannot carry
 * (NUL, or a line break in a pgpass line) throws. Pure.
 */

import { quoteConninfoValue } from '../lib/quote.ts';

/** A parameter value; `undefined` means "leave the keyword out". */
export type ConninfoValue = string | number | undefined;

// libpq keywords are lower-case words with underscores (host, sslmode, target_session_attrs);
// checking them stops a key like "host=x password" from injecting a second setting.
const CONNINFO_KEYWORD = /^[a-z][a-z0-9_]*$/;
// Values made only of these characters read back unchanged without quotes.
const CONNINFO_BARE_VALUE = /^[A-Za-z0-9_.,:/@+-]+$/;

/**
 * Builds a libpq keyword/value connection string (`host=pg port=5432 user='a b'`). Keys keep the
 * order given; `undefined` values are skipped; a value is quoted when it is empty or has any
 * character outside `[A-Za-z0-9_.,:/@+-]`. Throws on an invalid keyword or a NUL in a value.
 */
export function buildConninfo(params: Readonly<Record<string, ConninfoValue>>): string {
  const parts: string[] = [];
  for (const [key, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    if (!CONNINFO_KEYWORD.test(key))
      throw new Error(`invalid libpq connection keyword ${JSON.stringify(key)}`);
    const value = String(raw);
    parts.push(`${key}=${CONNINFO_BARE_VALUE.test(value) ? value : quoteConninfoValue(value)}`);
  }
  return parts.join(' ');
}

/** Parts of a postgresql:// or JDBC URI. */
export interface UriParts {
  readonly user?: string;
  readonly password?: string;
  /** Host name, IPv4/IPv6 address, or (postgresql:// only) an absolute unix socket directory. */
  readonly host: string;
  readonly port?: number | string;
  readonly dbname?: string;
  /** Query parameters (sslmode, ...), in the order given; undefined values are skipped. */
  readonly params?: Readonly<Record<string, ConninfoValue>>;
}

/** Percent-encodes everything except RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~). */
function percentEncode(value: string): string {
  if (value.includes('\0')) throw new Error('cannot encode a NUL byte in a connection URI');
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function uriHost(host: string): string {
  if (host.length === 0) throw new Error('a connection URI needs a host');
  // An IPv6 literal must be bracketed or its colons read as the port separator.
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`;
  return percentEncode(host);
}

function uriPort(port: number | string | undefined): string {
  if (port === undefined) return '';
  const text = String(port);
  if (!/^[0-9]{1,5}$/.test(text)) throw new Error(`invalid port ${JSON.stringify(text)} in a connection URI`);
  return `:${text}`;
}

function uriQuery(params: Readonly<Record<string, ConninfoValue>>): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) pairs.push(`${percentEncode(key)}=${percentEncode(String(value))}`);
  }
  return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
}

/**
 * Builds a `postgresql://user:password@host:port/dbname?k=v` URI as libpq parses it: user,
 * password, database and parameters percent-encoded; IPv6 hosts bracketed.
 */
export function buildUri(parts: UriParts): string {
  let userinfo = '';
  if (parts.user !== undefined) {
    userinfo = percentEncode(parts.user);
    if (parts.password !== undefined) userinfo += `:${percentEncode(parts.password)}`;
    userinfo += '@';
  } else if (parts.password !== undefined) {
    throw new Error('a connection URI with a password needs a user');
  }
  const path = parts.dbname === undefined ? '' : `/${percentEncode(parts.dbname)}`;
  return `postgresql://${userinfo}${uriHost(parts.host)}${uriPort(parts.port)}${path}${uriQuery(parts.params ?? {})}`;
}

/**
 * Builds the JDBC URL of CNPG's app secret: `jdbc:postgresql://host:port/dbname?password=...&user=...`
 * (credentials as query parameters, password first, as CNPG writes them), then any `params`.
 */
export function buildJdbcUri(parts: UriParts): string {
  if (parts.host.startsWith('/')) throw new Error('a JDBC URL cannot point at a unix socket directory');
  const query: Record<string, ConninfoValue> = {
    password: parts.password,
    user: parts.user,
    ...parts.params,
  };
  const path = `/${percentEncode(parts.dbname ?? '')}`;
  return `jdbc:postgresql://${uriHost(parts.host)}${uriPort(parts.port)}${path}${uriQuery(query)}`;
}

/**
 * Builds one ~/.pgpass line `host:port:dbname:user:password` (no trailing newline; CNPG's app
 * secret `pgpass` value is this line plus "\n"). `\` and `:` are backslash-escaped; a field that
 * is exactly `*` stays a wildcard, as libpq reads it. Throws on NUL or a line break, which would
 * end the entry early and let the rest be read as another entry.
 */
export function buildPgpassLine(
  host: string,
  port: number | string,
  dbname: string,
  user: string,
  password: string,
): string {
  return [host, String(port), dbname, user, password]
    .map((field) => {
      if (/[\0\n\r]/.test(field)) throw new Error('a .pgpass field cannot contain NUL or a line break');
      return field.replaceAll('\\', '\\\\').replaceAll(':', '\\:');
    })
    .join(':');
}
