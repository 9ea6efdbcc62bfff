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

/**
 * Field tables (ignored and unimplemented fields) name fields by pattern: a dotted path where
 * `[]` after a key stands for every item of that list, as in `spec.externalClusters[].password`.
 */
const LIST_ITEMS = '[]';

/** The pattern a concrete path matches: `spec.externalClusters[2].password` -> `spec.externalClusters[].password`. */
export function fieldPattern(path: readonly PathSegment[]): string {
  return formatPath(path).replace(/\[\d+\]/g, LIST_ITEMS);
}

/** The segments of a pattern, with `0` for each `[]` (enough to walk a schema). */
export function patternSegments(pattern: string): PathSegment[] {
  return pattern
    .split('.')
    .flatMap((part) => (part.endsWith(LIST_ITEMS) ? [part.slice(0, -LIST_ITEMS.length), 0] : [part]));
}

/** Every concrete path in `data` that a pattern matches (one per list item for each `[]`). */
export function expandPattern(data: unknown, pattern: string): PathSegment[][] {
  let paths: PathSegment[][] = [[]];
  for (const part of pattern.split('.')) {
    const isList = part.endsWith(LIST_ITEMS);
    const key = isList ? part.slice(0, -LIST_ITEMS.length) : part;
    paths = paths.flatMap((path) => {
      const next = [...path, key];
      if (getAtPath(data, next) === undefined) return [];
      if (!isList) return [next];
      const items = getAtPath(data, next);
      return Array.isArray(items) ? items.map((_, index) => [...next, index]) : [];
    });
  }
  return paths;
}
