import { describe, expect, it } from 'vitest';
import { loadManifests } from '../load-manifests.ts';
import { formatIssue } from '../manifest-issue.ts';
import type { BackupResource } from './backup-resource.ts';
import type { ScheduledBackupResource } from './scheduled-backup-resource.ts';
import { validateBackupUpdate, validateScheduledBackupUpdate } from './validate-backup-update.ts';

function load<T>(kind: string, spec: string[], file = 'next.yaml'): T {
  const text = [
    'apiVersion: postgresql.cnpg.io/v1',
    `kind: ${kind}`,
    'metadata: {name: b}',
    'spec:',
    ...spec,
    '',
  ];
  const result = loadManifests(text.join('\n'), file);
  expect(result.errors).toEqual([]);
  return result.resources[0] as T;
}

describe('validateBackupUpdate', () => {
  const previous = load<BackupResource>('Backup', ['  cluster: {name: pg}'], 'previous.yaml');

  it('accepts the same spec, including its defaults spelled out', () => {
    expect(validateBackupUpdate(previous, load('Backup', ['  cluster: {name: pg}']))).toEqual([]);
    const spelled = load<BackupResource>('Backup', ['  cluster: {name: pg}', '  method: barmanObjectStore']);
    expect(validateBackupUpdate(previous, spelled)).toEqual([]);
  });

  it('refuses any change of the spec, at each changed field', () => {
    const next = load<BackupResource>('Backup', ['  cluster: {name: other}', '  target: primary']);
    expect(validateBackupUpdate(previous, next).map(formatIssue)).toEqual([
      'next.yaml:5:19  spec.cluster.name  the spec of a Backup cannot change once it exists: cluster.name was "pg", now "other"; create a new Backup instead',
      'next.yaml:6:11  spec.target  the spec of a Backup cannot change once it exists: target was (unset), now "primary"; create a new Backup instead',
    ]);
    expect(validateBackupUpdate(previous, next).every((i) => i.code === 'PGHERD_API_IMMUTABLE')).toBe(true);
  });
});

describe('validateScheduledBackupUpdate', () => {
  const base = ['  schedule: "0 0 0 * * *"', '  cluster: {name: pg}'];
  const previous = load<ScheduledBackupResource>('ScheduledBackup', base, 'previous.yaml');

  it('accepts a new schedule, suspend and target', () => {
    const next = load<ScheduledBackupResource>('ScheduledBackup', [
      '  schedule: "0 0 */6 * * *"',
      '  cluster: {name: pg}',
      '  suspend: true',
      '  target: primary',
    ]);
    expect(validateScheduledBackupUpdate(previous, next)).toEqual([]);
  });

  it('refuses another cluster', () => {
    const next = load<ScheduledBackupResource>('ScheduledBackup', [base[0]!, '  cluster: {name: other}']);
    expect(validateScheduledBackupUpdate(previous, next).map(formatIssue)).toEqual([
      'next.yaml:6:19  spec.cluster.name  the cluster of a ScheduledBackup cannot change once it exists (was "pg", now "other"); create a new ScheduledBackup for another cluster',
    ]);
  });
});
