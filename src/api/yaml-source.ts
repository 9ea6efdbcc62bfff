import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  type Tags,
  visit,
} from 'yaml';
import type { PathSegment } from './field-path.ts';
import { isPlainRecord } from './field-path.ts';

/** A 1-based line and column in the manifest text. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Maps field paths of one YAML document to positions in the text. */
export interface DocumentLocator {
  /** Where the value at `path` starts (or the nearest ancestor that exists). */
  value(path: readonly PathSegment[]): SourcePosition;
  /** Where the key naming the last segment of `path` is (for unknown and ignored fields). */
  key(path: readonly PathSegment[]): SourcePosition;
  /** Where to report that `path` is missing: its key when present with no value, else its parent's key. */
  missing(path: readonly PathSegment[]): SourcePosition;
  /** The source text of the scalar at `path`, as written (quotes included). */
  text(path: readonly PathSegment[]): string | undefined;
}

/** One non-empty YAML document: its plain data and a locator for its fields. */
export interface SourceDocument {
  data: unknown;
  locator: DocumentLocator;
  /** Position of the document's first node. */
  start: SourcePosition;
}

/** A problem found while reading the YAML itself (before any schema applies). */
export interface YamlProblem {
  severity: 'error' | 'warning';
  code: 'PGHERD_API_YAML_SYNTAX' | 'PGHERD_API_YAML_ALIASES' | 'PGHERD_API_YAML_WARNING';
  position: SourcePosition;
  message: string;
}

/** What `readYamlDocuments` found: the documents that parsed, and every YAML problem. */
export interface YamlReadResult {
  documents: SourceDocument[];
  problems: YamlProblem[];
}

/**
 * Alias expansion limit: `toJS` refuses documents whose aliases expand beyond this many nodes
 * ("billion laughs"), which would otherwise exhaust memory.
 */
const MAX_ALIAS_COUNT = 100;

/** A broken document can yield thousands of errors; the first ones say what is wrong. */
const MAX_ERRORS_PER_DOCUMENT = 20;

/**
 * Kubernetes reads YAML 1.1 (go-yaml v2 via sigs.k8s.io/yaml): `on`, `off`, `yes`, `no` are
 * booleans, so `hot_standby_feedback: on` is refused by CNPG as "must be a string". We parse the
 * same way so a manifest pgherd accepts also works on Kubernetes. Timestamps, sexagesimal numbers
 * and the exotic collection tags are dropped: Kubernetes keeps those as plain strings or refuses
 * them.
 */
function kubernetesTags(tags: Tags): Tags {
  return tags.filter((tag) => {
    if (typeof tag === 'string') return !DROPPED_TAG_NAMES.has(tag);
    if (tag.format === 'TIME') return false;
    return !DROPPED_TAGS.has(tag.tag);
  });
}

const DROPPED_TAG_NAMES: ReadonlySet<string> = new Set([
  'timestamp',
  'intTime',
  'floatTime',
  'binary',
  'omap',
  'pairs',
  'set',
]);

const DROPPED_TAGS: ReadonlySet<string> = new Set([
  'tag:yaml.org,2002:timestamp',
  'tag:yaml.org,2002:binary',
  'tag:yaml.org,2002:omap',
  'tag:yaml.org,2002:pairs',
  'tag:yaml.org,2002:set',
]);

/** Parses a (multi-document) YAML text. Never throws: problems are returned with their positions. */
export function readYamlDocuments(text: string): YamlReadResult {
  const lineCounter = new LineCounter();
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const documents: SourceDocument[] = [];
  const problems: YamlProblem[] = [];
  let parsed: readonly Document.Parsed[];
  try {
    parsed = parseAllDocuments(text, {
      lineCounter,
      version: '1.1',
      customTags: kubernetesTags,
      uniqueKeys: true,
      // The library would print warnings itself (process.emitWarning); every problem is returned instead.
      logLevel: 'silent',
    });
  } catch (cause) {
    // The parser reports problems as document errors; this only guards against a parser bug.
    problems.push({
      severity: 'error',
      code: 'PGHERD_API_YAML_SYNTAX',
      position: { line: 1, column: 1 },
      message: `YAML could not be parsed: ${cause instanceof Error ? firstLine(cause.message) : String(cause)}`,
    });
    return { documents, problems };
  }
  // parseAllDocuments returns an EmptyStream (an array) for a text with no documents.
  for (const doc of parsed) {
    for (const error of doc.errors.slice(0, MAX_ERRORS_PER_DOCUMENT)) {
      problems.push({
        severity: 'error',
        code: 'PGHERD_API_YAML_SYNTAX',
        position: error.linePos
          ? { line: error.linePos[0].line, column: error.linePos[0].col }
          : position(error.pos[0]),
        message: `YAML syntax error (${error.code}): ${firstLine(error.message)}`,
      });
    }
    const more = doc.errors.length - MAX_ERRORS_PER_DOCUMENT;
    const last = doc.errors[MAX_ERRORS_PER_DOCUMENT - 1]?.linePos?.[0];
    if (more > 0 && last !== undefined) {
      problems.push({
        severity: 'error',
        code: 'PGHERD_API_YAML_SYNTAX',
        position: { line: last.line, column: last.col },
        message: `${more} more YAML syntax errors in this document are not shown`,
      });
    }
    for (const warning of doc.warnings) {
      problems.push({
        severity: 'warning',
        code: 'PGHERD_API_YAML_WARNING',
        position: warning.linePos
          ? { line: warning.linePos[0].line, column: warning.linePos[0].col }
          : position(warning.pos[0]),
        message: `YAML warning (${warning.code}): ${firstLine(warning.message)}`,
      });
    }
    if (doc.errors.length > 0) continue;
    const complexKey = findCollectionKey(doc);
    if (complexKey !== undefined) {
      problems.push({
        severity: 'error',
        code: 'PGHERD_API_YAML_SYNTAX',
        position: position(complexKey),
        message: 'mapping keys must be plain values, not lists or mappings',
      });
      continue;
    }
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) continue;
    const start = position(contents.range?.[0] ?? 0);
    let data: unknown;
    try {
      data = withoutNulls(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
    } catch (cause) {
      const reason = cause instanceof Error ? firstLine(cause.message) : String(cause);
      const aliases = /alias/i.test(reason);
      problems.push({
        severity: 'error',
        code: aliases ? 'PGHERD_API_YAML_ALIASES' : 'PGHERD_API_YAML_SYNTAX',
        position: start,
        message: aliases
          ? `YAML aliases could not be expanded: ${reason}`
          : `YAML could not be read: ${reason}`,
      });
      continue;
    }
    documents.push({ data, locator: createLocator(doc, text, position), start });
  }
  return { documents, problems };
}

/** Offset of the first mapping key that is a list or mapping (JSON, hence Kubernetes, has none). */
function findCollectionKey(doc: Document.Parsed): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isCollection(pair.key)) {
        found = pair.key.range?.[0] ?? 0;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '').trim();
}

/**
 * Drops mapping entries whose value is null, recursively, as the Kubernetes API server prunes
 * nulls before defaulting: `bootstrap:` with every child commented out means "not set".
 */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (isPlainRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      // defineProperty, not assignment: a `__proto__` key must stay a plain (unknown) field.
      if (child !== null) {
        Object.defineProperty(out, key, {
          value: withoutNulls(child),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    return out;
  }
  return value;
}

interface Walk {
  /** The node at the full path, when every step was found. */
  node: Node | undefined;
  /** How many segments were found. */
  found: number;
  /** Offset of the key (or list item) that names the deepest found step; the document start if none. */
  anchor: number;
}

function createLocator(
  doc: Document.Parsed,
  text: string,
  position: (offset: number) => SourcePosition,
): DocumentLocator {
  const root = doc.contents;
  const rootOffset = root?.range?.[0] ?? 0;

  const walk = (path: readonly PathSegment[]): Walk => {
    let node: unknown = root;
    let anchor = rootOffset;
    let found = 0;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((item) => {
          const key = isScalar(item.key) ? item.key.value : item.key;
          return key !== null && key !== undefined && String(key) === String(segment);
        });
        if (pair === undefined) break;
        anchor = isNode(pair.key) ? (pair.key.range?.[0] ?? anchor) : anchor;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        if (item === undefined) break;
        anchor = isNode(item) ? (item.range?.[0] ?? anchor) : anchor;
        node = item;
      } else {
        break;
      }
      found++;
    }
    if (isAlias(node)) node = node.resolve(doc);
    return { node: found === path.length && isNode(node) ? node : undefined, found, anchor };
  };

  const valueOffset = (w: Walk): number => {
    const range = w.node?.range;
    // An empty value (`key:` with nothing after it) has an empty range: point at the key instead.
    if (range === undefined || range === null || range[0] === range[1]) return w.anchor;
    return range[0];
  };

  return {
    value: (path) => position(valueOffset(walk(path))),
    key: (path) => position(walk(path).anchor),
    missing: (path) => position(walk(path).anchor),
    text: (path) => {
      const w = walk(path);
      if (!isScalar(w.node) || !w.node.range) return undefined;
      return text.slice(w.node.range[0], w.node.range[1]);
    },
  };
}
