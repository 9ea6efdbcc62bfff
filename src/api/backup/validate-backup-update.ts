/**
 * What may not change when a Backup or a ScheduledBackup is applied again: a Backup's whole spec
 * (CNPG's CEL rule "BackupSpec is immutable once set") and a ScheduledBackup's cluster ("cluster
 * reference is immutable after creation").
 */
import { formatPath, type PathSegment } from '../field-path.ts';
import { compareIssues, type ManifestIssue } from '../manifest-issue.ts';
import { issueInResource } from '../resource-sources.ts';
import type { BackupResource } from './backup-resource.ts';
import type { ScheduledBackupResource } from './scheduled-backup-resource.ts';

function show(value: unknown): string {
  return value === undefined ? '(unset)' : JSON.stringify(value);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The paths (below `path`) whose values differ, down to the innermost mapping that holds them. */
function changedFields(
  before: unknown,
  after: unknown,
  path: PathSegment[],
): Array<{ path: PathSegment[]; before: unknown; after: unknown }> {
  if (isMapping(before) && isMapping(after)) {
    const names = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return names.flatMap((name) => changedFields(before[name], after[name], [...path, name]));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path, before, after }];
}

/** Refuses any change to the spec of a Backup that exists: a backup request is what it was. */
export function validateBackupUpdate(previous: BackupResource, next: BackupResource): ManifestIssue[] {
  return changedFields(previous.spec, next.spec, ['spec'])
    .map((change) =>
      issueInResource(
        next,
        change.path,
        'PGHERD_API_IMMUTABLE',
        `the spec of a Backup cannot change once it exists: ${formatPath(change.path.slice(1))} was ${show(change.before)}, now ${show(change.after)}; create a new Backup instead`,
      ),
    )
    .sort(compareIssues);
}

/** Refuses a change of the cluster a ScheduledBackup backs up; everything else may change. */
export function validateScheduledBackupUpdate(
  previous: ScheduledBackupResource,
  next: ScheduledBackupResource,
): ManifestIssue[] {
  if (previous.spec.cluster.name === next.spec.cluster.name) return [];
  return [
    issueInResource(
      next,
      ['spec', 'cluster', 'name'],
      'PGHERD_API_IMMUTABLE',
      `the cluster of a ScheduledBackup cannot change once it exists (was "${previous.spec.cluster.name}", now "${next.spec.cluster.name}"); create a new ScheduledBackup for another cluster`,
    ),
  ];
}
