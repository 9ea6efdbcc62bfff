/**
 * Where each loaded resource came from, so checks that run later (references at apply time,
 * immutability against the stored cluster) can still point at `file:line:column`.
 *
 * A WeakMap keyed by the resource object: entries live exactly as long as the resource does, and
 * a resource that did not come from loadManifests (read back from the store, built in a test)
 * simply has no source and is reported by kind and name instead.
 */
import { formatPath, type PathSegment } from './field-path.ts';
import type { IssueCode } from './issue-codes.ts';
import type { ManifestIssue } from './manifest-issue.ts';
import type { ObjectMeta } from './object-meta.ts';
import type { DocumentLocator } from './yaml-source.ts';

interface ResourceSource {
  file: string;
  locator: DocumentLocator;
}

const sources = new WeakMap<object, ResourceSource>();

/** Remembers where a loaded resource came from. */
export function recordSource(resource: object, file: string, locator: DocumentLocator): void {
  sources.set(resource, { file, locator });
}

/** A resource as far as issue reporting needs it. */
export interface LocatableResource {
  kind: string;
  metadata: Pick<ObjectMeta, 'name' | 'namespace'>;
}

/**
 * An issue about `path` of `resource`: at the field's position when the resource came from a file
 * (its key with `anchor: 'key'`, or the nearest ancestor that exists), else named by kind and name
 * with line 0.
 */
export function issueInResource(
  resource: LocatableResource,
  path: readonly PathSegment[],
  code: IssueCode,
  message: string,
  anchor: 'value' | 'key' = 'value',
): ManifestIssue {
  const source = sources.get(resource);
  if (source === undefined) {
    return {
      file: `${resource.kind} ${resource.metadata.namespace}/${resource.metadata.name}`,
      line: 0,
      column: 0,
      path: formatPath(path),
      message,
      code,
    };
  }
  const position = anchor === 'key' ? source.locator.key(path) : source.locator.value(path);
  return {
    file: source.file,
    line: position.line,
    column: position.column,
    path: formatPath(path),
    message,
    code,
  };
}
