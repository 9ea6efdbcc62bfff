/**
 * Quoting for the text formats PostgreSQL reads: SQL identifiers and literals, postgresql.conf
 * values and libpq keyword/value strings. Every function either returns a value that the target
 * parser reads back as exactly the input, or throws: a value that cannot be represented safely
 * (NUL anywhere, a line break where the format is line-oriented) is refused, never mangled.
 * `src/postgres/identifiers.ts` re-exports these with PostgreSQL naming rules on top.
 */

/** Throws when `value` contains a character from `forbidden`, naming the format and the character. */
function refuse(value: string, forbidden: Readonly<Record<string, string>>, format: string): void {
  for (const [char, name] of Object.entries(forbidden)) {
    if (value.includes(char)) {
      throw new Error(`cannot quote a ${format} that contains ${name}: PostgreSQL would read it differently`);
    }
  }
}

const NUL: Readonly<Record<string, string>> = { '\0': 'a NUL byte' };
const NUL_OR_LINE_BREAK: Readonly<Record<string, string>> = {
  '\0': 'a NUL byte',
  '\n': 'a newline',
  '\r': 'a carriage return',
};

/**
 * Quotes a SQL identifier: `"name"` with inner double quotes doubled. Always quotes, so case and
 * reserved words are preserved. Throws on an empty name (PostgreSQL has no zero-length
 * identifiers) or a NUL byte.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('cannot quote an empty SQL identifier');
  refuse(name, NUL, 'SQL identifier');
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Quotes a SQL string literal. Single quotes are doubled; when the value holds a backslash the
 * literal is written as `E'...'` with backslashes doubled, so it reads back the same whether or
 * not `standard_conforming_strings` is on (the shape libpq's PQescapeLiteral and pg's
 * escapeLiteral produce). Throws on a NUL byte, which a PostgreSQL text value cannot hold.
 */
export function quoteLiteral(value: string): string {
  refuse(value, NUL, 'SQL literal');
  const quoted = value.replaceAll("'", "''");
  if (value.includes('\\')) return `E'${quoted.replaceAll('\\', '\\\\')}'`;
  return `'${quoted}'`;
}

/**
 * Quotes a value for postgresql.conf (and its include files): single-quoted, backslash written
 * as `\\` and quote as `''` (the GUC file scanner undoes both). Throws on NUL, newline or
 * carriage return: the file is line-oriented, so such a value could start a new setting.
 */
export function quoteConfValue(value: string): string {
  refuse(value, NUL_OR_LINE_BREAK, 'postgresql.conf value');
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/**
 * Quotes a value for a libpq keyword/value connection string: single-quoted with `\` and `'`
 * backslash-escaped (libpq's conninfo parser rules). Always quotes; `buildConninfo` decides
 * when quoting can be skipped. Throws on a NUL byte, which ends a C string.
 */
export function quoteConninfoValue(value: string): string {
  refuse(value, NUL, 'connection string value');
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
