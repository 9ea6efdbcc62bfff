/**
 * PostgreSQL naming rules: which names are valid identifiers, parameter names and replication
 * slot names, plus the quoting helpers (re-exported from lib/quote.ts) so callers that speak
 * PostgreSQL import one module. Pure.
 */

import { quoteIdent } from '../lib/quote.ts';

export { quoteConfValue, quoteConninfoValue, quoteIdent, quoteLiteral } from '../lib/quote.ts';

/** Longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes); longer ones are silently truncated. */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * Why `name` cannot be used as a role, database or schema name, or undefined when it can.
 * Over-long names are refused because PostgreSQL truncates them to 63 bytes, so two different
 * names in a manifest could silently become the same object.
 */
export function checkIdentifier(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.includes('\0')) return 'must not contain a NUL byte';
  const bytes = new TextEncoder().encode(name).length;
  if (bytes > MAX_IDENTIFIER_BYTES) {
    return `is ${bytes} bytes long; PostgreSQL truncates identifiers to ${MAX_IDENTIFIER_BYTES} bytes`;
  }
  return undefined;
}

/** Quotes `schema.name` with each part quoted separately. */
export function quoteQualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

// The postgresql.conf scanner (guc-file.l): ID = letter (letter|digit|$)*, optionally one
// `prefix.` qualifier for extension/custom parameters. ASCII only: a name outside this shape
// would not parse, or worse, could carry `=` and a second setting.
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

/** True when `name` can appear as a setting name in postgresql.conf. */
export function isValidParameterName(name: string): boolean {
  return PARAMETER_NAME.test(name);
}

// ReplicationSlotValidateName: lower-case letters, digits and underscore, 1..NAMEDATALEN-1.
const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

/** True when `name` is a valid replication slot name (lower-case letters, digits, `_`; max 63). */
export function isValidReplicationSlotName(name: string): boolean {
  return SLOT_NAME.test(name);
}
