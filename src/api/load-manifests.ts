/**
 * The manifest loader: YAML text in, validated resources with CNPG's defaults out, plus every
 * error and warning with its `file:line:column`. Pure: the caller reads the file.
 */
import { closestMatch } from '../lib/edit-distance.ts';
import { ignoredFieldMessage, notImplementedMessage } from './field-notes.ts';
import { expandPattern, formatPath, getAtPath, isPlainRecord } from './field-path.ts';
import type { IssueCode } from './issue-codes.ts';
import { KIND_HANDLERS, type KindHandler, UNIMPLEMENTED_KINDS } from './kinds.ts';
import { compareIssues, type ManifestIssue } from './manifest-issue.ts';
import { DEFAULT_NAMESPACE } from './object-meta.ts';
import { recordSource } from './resource-sources.ts';
import { translateZodIssues } from './translate-issues.ts';
import type { UserResource } from './user-resource.ts';
import { readYamlDocuments, type SourceDocument, type SourcePosition } from './yaml-source.ts';

/** What loading a manifest file found. */
export interface LoadResult {
  /** Every document that is valid on its own, defaults applied, in file order. */
  resources: UserResource[];
  /** Every error; when there is any, nothing should be applied. */
  errors: ManifestIssue[];
  /** Ignored Kubernetes-only (or server-written) fields, one per field, and YAML warnings. */
  warnings: ManifestIssue[];
}

/** Where a kind/namespace/name was first declared, to report duplicates. */
type Declarations = Map<string, SourcePosition>;

/** Parse a (multi-document) YAML text, validate every document, apply CNPG defaults. Never throws for bad input. */
export function loadManifests(text: string, file: string): LoadResult {
  const result: LoadResult = { resources: [], errors: [], warnings: [] };
  const issue = (
    code: IssueCode,
    position: SourcePosition,
    path: string,
    message: string,
  ): ManifestIssue => ({
    file,
    line: position.line,
    column: position.column,
    path,
    message,
    code,
  });
  const read = readYamlDocuments(text);
  for (const problem of read.problems) {
    const found = issue(problem.code, problem.position, '', problem.message);
    (problem.severity === 'error' ? result.errors : result.warnings).push(found);
  }
  if (read.documents.length === 0 && result.errors.length === 0) {
    result.errors.push(
      issue(
        'PGHERD_API_EMPTY',
        { line: 1, column: 1 },
        '',
        `no resources found in ${file}: it holds no YAML documents`,
      ),
    );
  }
  const declarations: Declarations = new Map();
  for (const document of read.documents) loadDocument(document, file, result, declarations);
  result.errors.sort(compareIssues);
  result.warnings.sort(compareIssues);
  return result;
}

const KNOWN_KINDS: readonly string[] = [...Object.keys(KIND_HANDLERS), ...UNIMPLEMENTED_KINDS];

/** `A, B and C`. */
function listKinds(kinds: readonly string[]): string {
  return kinds.length <= 1 ? kinds.join('') : `${kinds.slice(0, -1).join(', ')} and ${kinds.at(-1)}`;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}

function loadDocument(
  document: SourceDocument,
  file: string,
  result: LoadResult,
  declarations: Declarations,
): void {
  const { data, locator } = document;
  const errors: ManifestIssue[] = [];
  const at = (code: IssueCode, position: SourcePosition, path: string, message: string) =>
    errors.push({ file, line: position.line, column: position.column, path, message, code });

  if (!isPlainRecord(data)) {
    at(
      'PGHERD_API_NOT_A_MAPPING',
      document.start,
      '',
      `a manifest document must be a mapping with apiVersion, kind and metadata, not ${describe(data)}`,
    );
    result.errors.push(...errors);
    return;
  }

  for (const field of ['apiVersion', 'kind'] as const) {
    const value = data[field];
    if (value === undefined) {
      at('PGHERD_API_REQUIRED', locator.missing([field]), field, `missing required field "${field}"`);
    } else if (typeof value !== 'string') {
      at('PGHERD_API_TYPE', locator.value([field]), field, `must be a string, got ${describe(value)}`);
    }
  }

  const kind = data['kind'];
  const handler: KindHandler | undefined =
    typeof kind === 'string' && Object.hasOwn(KIND_HANDLERS, kind) ? KIND_HANDLERS[kind] : undefined;
  if (handler === undefined) {
    if (typeof kind === 'string') {
      if (UNIMPLEMENTED_KINDS.includes(kind)) {
        at(
          'PGHERD_API_NOT_IMPLEMENTED',
          locator.value(['kind']),
          'kind',
          notImplementedMessage(`kind ${kind}`),
        );
      } else {
        const suggestion = closestMatch(kind, KNOWN_KINDS);
        const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
        at(
          'PGHERD_API_UNKNOWN_KIND',
          locator.value(['kind']),
          'kind',
          `kind ${JSON.stringify(kind)} is not supported by pgherd (it accepts ${listKinds(Object.keys(KIND_HANDLERS))})${hint}`,
        );
      }
    } else if (getAtPath(data, ['metadata', 'name']) === undefined) {
      // Without a kind nothing else can be checked, but a missing name is worth saying at once.
      at(
        'PGHERD_API_REQUIRED',
        locator.missing(['metadata', 'name']),
        'metadata.name',
        'missing required field "name"',
      );
    }
    result.errors.push(...errors);
    return;
  }

  const apiVersion = data['apiVersion'];
  if (typeof apiVersion === 'string' && apiVersion !== handler.apiVersion) {
    at(
      'PGHERD_API_API_VERSION',
      locator.value(['apiVersion']),
      'apiVersion',
      `apiVersion must be "${handler.apiVersion}" for kind ${String(kind)}, got ${JSON.stringify(apiVersion)}`,
    );
  }

  const loaded = handler.load(data);
  errors.push(
    ...translateZodIssues(loaded.issues, {
      file,
      data,
      locator,
      schema: handler.schema,
      unimplemented: handler.unimplemented,
    }),
  );
  for (const finding of loaded.findings) {
    const position = locator.value(finding.path);
    errors.push({
      file,
      line: position.line,
      column: position.column,
      path: formatPath(finding.path),
      message: finding.message,
      code: finding.code,
    });
  }

  for (const field of handler.ignored) {
    for (const path of expandPattern(data, field.path)) {
      const position = locator.key(path);
      const dotted = formatPath(path);
      result.warnings.push({
        file,
        line: position.line,
        column: position.column,
        path: dotted,
        message: ignoredFieldMessage(field, dotted),
        code: 'PGHERD_API_IGNORED_FIELD',
      });
    }
  }

  checkDuplicate(String(kind), data, document, file, declarations, errors);

  result.errors.push(...errors);
  if (loaded.resource !== undefined && errors.length === 0) {
    recordSource(loaded.resource, file, locator);
    result.resources.push(loaded.resource);
  }
}

function checkDuplicate(
  kind: string,
  data: Record<string, unknown>,
  document: SourceDocument,
  file: string,
  declarations: Declarations,
  errors: ManifestIssue[],
): void {
  const name = getAtPath(data, ['metadata', 'name']);
  const namespace = getAtPath(data, ['metadata', 'namespace']) ?? DEFAULT_NAMESPACE;
  if (typeof name !== 'string' || typeof namespace !== 'string') return;
  const key = `${kind}\u0000${namespace}\u0000${name}`;
  const here = document.locator.value(['metadata', 'name']);
  const first = declarations.get(key);
  if (first === undefined) {
    declarations.set(key, here);
    return;
  }
  errors.push({
    file,
    line: here.line,
    column: here.column,
    path: 'metadata.name',
    message: `duplicate ${kind} ${JSON.stringify(`${namespace}/${name}`)}: already defined at ${file}:${first.line}:${first.column}`,
    code: 'PGHERD_API_DUPLICATE',
  });
}
