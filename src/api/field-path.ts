/** One step of a path into a manifest: a mapping key or a list index. */
export type PathSegment = string | number;

/** `['spec', 'postgresql', 'pg_hba', 2]` -> `spec.postgresql.pg_hba[2]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    // A key with control characters is quoted: printed raw, a newline would forge an output line.
    else if (/[\u0000-\u001f\u007f]/.test(segment)) out += `[${JSON.stringify(segment)}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** The value at `path` inside plain data, or undefined when any step is missing. */
export function getAtPath(value: unknown, path: readonly PathSegment[]): unknown {
  let current = value;
  for (const segment of path) {
    if (typeof segment === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[segment];
    } else {
      if (!isPlainRecord(current) || !Object.hasOwn(current, segment)) return undefined;
      current = current[segment];
    }
  }
  return current;
}

/** True for a plain mapping (not null, not a list). */
export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
