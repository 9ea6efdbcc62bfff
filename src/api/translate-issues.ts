/**
 * Turns zod issues into manifest issues: a pgherd code, a sentence a user understands, and the
 * position of the offending YAML node (the key for unknown fields, the parent for missing ones).
 */
import type { z } from 'zod';
import { closestMatch } from '../lib/edit-distance.ts';
import { notImplementedMessage, type UnimplementedField } from './field-notes.ts';
import { fieldPattern, formatPath, getAtPath, isPlainRecord, type PathSegment } from './field-path.ts';
import { ISSUE_CODES, type IssueCode } from './issue-codes.ts';
import type { ManifestIssue } from './manifest-issue.ts';
import { knownKeysAt } from './schema-keys.ts';
import type { DocumentLocator, SourcePosition } from './yaml-source.ts';
import type { IssueAnchor } from './zod-helpers.ts';

/** What the translator needs to know about the document the issues are about. */
export interface TranslationContext {
  file: string;
  /** The document's data, as validated (to tell a missing field from a wrong one). */
  data: unknown;
  locator: DocumentLocator;
  /** The document schema (to suggest field names). */
  schema: z.ZodType;
  /** Unimplemented fields of this kind, by dotted path. */
  unimplemented: ReadonlyMap<string, UnimplementedField>;
}

type ZodIssue = z.core.$ZodIssue;

/** Manifest issues for every zod issue, in zod's order. */
export function translateZodIssues(
  issues: readonly ZodIssue[],
  context: TranslationContext,
): ManifestIssue[] {
  const out: ManifestIssue[] = [];
  for (const issue of issues) translate(issue, toPath(issue.path), 'value', context, out);
  return out;
}

function toPath(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((segment) => (typeof segment === 'number' ? segment : String(segment)));
}

function isIssueCode(value: unknown): value is IssueCode {
  return typeof value === 'string' && Object.hasOwn(ISSUE_CODES, value);
}

function issueAt(
  context: TranslationContext,
  code: IssueCode,
  path: readonly PathSegment[],
  position: SourcePosition,
  message: string,
): ManifestIssue {
  return {
    file: context.file,
    line: position.line,
    column: position.column,
    path: formatPath(path),
    message,
    code,
  };
}

function translate(
  issue: ZodIssue,
  path: PathSegment[],
  anchor: IssueAnchor,
  context: TranslationContext,
  out: ManifestIssue[],
): void {
  const { locator } = context;
  const at = (where: IssueAnchor) => (where === 'key' ? locator.key(path) : locator.value(path));
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) out.push(unknownField(path, key, context));
      return;
    case 'invalid_key':
    case 'invalid_element':
      for (const nested of issue.issues)
        translate(nested, [...path, ...toPath(nested.path)], 'key', context, out);
      return;
    case 'invalid_union':
      out.push(
        issueAt(context, 'PGHERD_API_TYPE', path, at(anchor), 'does not match any of the allowed shapes'),
      );
      return;
    case 'custom': {
      const params: Record<string, unknown> = issue.params ?? {};
      const code = isIssueCode(params['code']) ? params['code'] : 'PGHERD_API_INVALID_VALUE';
      const where = params['anchor'] === 'key' ? 'key' : anchor;
      const position = code === 'PGHERD_API_REQUIRED' ? locator.missing(path) : at(where);
      out.push(issueAt(context, code, path, position, issue.message));
      return;
    }
    default:
      break;
  }
  if (anchor === 'value' && isMissing(context.data, path)) {
    const name = path[path.length - 1];
    out.push(
      issueAt(
        context,
        'PGHERD_API_REQUIRED',
        path,
        locator.missing(path),
        `missing required field "${String(name)}"`,
      ),
    );
    return;
  }
  const shown = locator.text(path);
  switch (issue.code) {
    case 'invalid_type':
      out.push(
        issueAt(
          context,
          'PGHERD_API_TYPE',
          path,
          at(anchor),
          typeMessage(issue.expected, issue.input, shown),
        ),
      );
      return;
    case 'too_small':
      out.push(
        issueAt(context, 'PGHERD_API_RANGE', path, at(anchor), rangeMessage('least', issue, issue.minimum)),
      );
      return;
    case 'too_big':
      out.push(
        issueAt(context, 'PGHERD_API_RANGE', path, at(anchor), rangeMessage('most', issue, issue.maximum)),
      );
      return;
    case 'not_multiple_of':
      out.push(
        issueAt(
          context,
          'PGHERD_API_RANGE',
          path,
          at(anchor),
          `must be a multiple of ${String(issue.divisor)}`,
        ),
      );
      return;
    case 'invalid_value': {
      const allowed = issue.values.map((value) => JSON.stringify(value));
      const got = issue.input === undefined ? '' : `, got ${JSON.stringify(issue.input)}`;
      const message =
        allowed.length === 1 ? `must be ${allowed[0]}${got}` : `must be one of ${allowed.join(', ')}${got}`;
      out.push(issueAt(context, 'PGHERD_API_ENUM', path, at(anchor), message));
      return;
    }
    case 'invalid_format':
      out.push(
        issueAt(context, 'PGHERD_API_FORMAT', path, at(anchor), `has an invalid format (${issue.format})`),
      );
      return;
  }
}

/** True when the value at `path` is absent (its parent exists, or is absent too). */
function isMissing(data: unknown, path: readonly PathSegment[]): boolean {
  const last = path[path.length - 1];
  if (last === undefined) return false;
  const parent = getAtPath(data, path.slice(0, -1));
  if (typeof last === 'number') return !Array.isArray(parent) || parent[last] === undefined;
  return !isPlainRecord(parent) || !Object.hasOwn(parent, last);
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isPlainRecord(value)) return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  return String(value);
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean (true or false)',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  array: 'a list',
};

function typeMessage(expected: string, input: unknown, shown: string | undefined): string {
  if (expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
    // YAML reads 10000, on, yes as numbers and booleans; CNPG only takes strings there.
    return `must be a string, quote it: "${shown ?? String(input)}"`;
  }
  if (expected === 'number' && typeof input === 'number' && !Number.isFinite(input)) {
    return `must be a finite number, got ${shown ?? String(input)}`;
  }
  return `must be ${EXPECTED[expected] ?? expected}, got ${describeValue(input)}`;
}

function rangeMessage(
  bound: 'least' | 'most',
  issue: { origin: string; inclusive?: boolean; input?: unknown },
  limit: number | bigint,
): string {
  const got = typeof issue.input === 'number' ? ` (got ${issue.input})` : '';
  switch (issue.origin) {
    case 'string':
      if (bound === 'least' && Number(limit) === 1) return 'must not be empty';
      return `must be at ${bound} ${limit} characters long`;
    case 'array':
    case 'set':
      return `must have at ${bound} ${limit} items`;
    default:
      if (issue.inclusive === false)
        return `must be ${bound === 'least' ? 'greater' : 'less'} than ${limit}${got}`;
      return `must be at ${bound} ${limit}${got}`;
  }
}

function unknownField(parent: PathSegment[], key: string, context: TranslationContext): ManifestIssue {
  const path = [...parent, key];
  const dotted = formatPath(path);
  const position = context.locator.key(path);
  const unimplemented = context.unimplemented.get(fieldPattern(path));
  if (unimplemented !== undefined) {
    return issueAt(
      context,
      'PGHERD_API_NOT_IMPLEMENTED',
      path,
      position,
      notImplementedMessage(dotted, unimplemented.hint),
    );
  }
  const parentDotted = fieldPattern(parent);
  const candidates = [
    ...knownKeysAt(context.schema, parent),
    ...[...context.unimplemented.keys()].flatMap((candidate) => {
      const dot = candidate.lastIndexOf('.');
      return candidate.slice(0, Math.max(0, dot)) === parentDotted ? [candidate.slice(dot + 1)] : [];
    }),
  ];
  const suggestion = closestMatch(key, candidates);
  const message =
    suggestion === undefined
      ? `unknown field ${JSON.stringify(key)}`
      : `unknown field ${JSON.stringify(key)}; did you mean "${suggestion}"?`;
  return issueAt(context, 'PGHERD_API_UNKNOWN_FIELD', path, position, message);
}
